/** @lth/core's version (kept equal to package.json by a test). Built-in plugins report it. */
export const CORE_VERSION = '0.1.0';
