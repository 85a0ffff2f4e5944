import type { AddCommand } from '../context.js';
import { addBranchCommand } from './branch.js';
import { addCompareCommand } from './compare.js';
import { addExportCommand } from './export.js';
import { addInitCommand } from './init.js';
import { addLandscapeCommand } from './landscape.js';
import { addModelsCommand } from './models.js';
import { addPluginsCommand } from './plugins.js';
import { addReferenceCommand } from './reference.js';
import { addReportCommand } from './report.js';
import { addRunCommand } from './run.js';
import { addSchemaCommand } from './schema.js';
import { addServeCommand } from './serve.js';
import { addSweepCommand } from './sweep.js';
import { addValidateCommand } from './validate.js';
import { addWorkerCommand } from './worker.js';

/**
 * Every lth command, in the order `lth --help` lists them. A new command is one file in this
 * folder exporting an `AddCommand`, plus its entry here.
 */
export const COMMANDS: readonly AddCommand[] = [
  addRunCommand,
  addSweepCommand,
  addWorkerCommand,
  addBranchCommand,
  addLandscapeCommand,
  addReportCommand,
  addServeCommand,
  addCompareCommand,
  addExportCommand,
  addValidateCommand,
  addModelsCommand,
  addPluginsCommand,
  addReferenceCommand,
  addSchemaCommand,
  addInitCommand,
];
