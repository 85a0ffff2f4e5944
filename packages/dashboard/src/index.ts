export { type Dashboard, dashboardApp, type DashboardOptions, startDashboard } from './server.js';
export { type Catalog, type LevelView, readCatalog, readRun, resolveInside, type ResultLink, type RunEntry, type RunView, type SweepEntry } from './catalog.js';
