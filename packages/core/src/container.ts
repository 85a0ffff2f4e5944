// tsyringe needs the Reflect metadata polyfill loaded before it: every use goes through here.
import 'reflect-metadata';

export { container as rootContainer } from 'tsyringe';
export type { DependencyContainer } from 'tsyringe';
