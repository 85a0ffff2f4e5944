// The command line of every benchmark script: --flags, --option values, --json (machine-readable
// stdout; progress then stays quiet) and --quick.
export function benchArgs(argv = process.argv.slice(2)) {
  const flag = (name) => argv.includes(`--${name}`);
  const option = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
  };
  const json = flag('json');
  const log = (...m) => {
    if (!json) console.error(...m);
  };
  return { args: argv, flag, option, json, quick: flag('quick'), log };
}
