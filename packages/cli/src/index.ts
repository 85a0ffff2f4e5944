export { main, discover } from './main.js';
export { ConsoleReporter, summaryTable } from './reporter.js';
export { exampleConfig } from './example-config.js';
export { configReference } from './reference.js';
export { configJsonSchema } from './schema.js';
