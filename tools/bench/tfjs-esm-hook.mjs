// Node ESM resolve hook: tfjs-core's ESM build (dist/*.js) imports its own files without an
// extension ('./ops/ops'), which Node's ESM loader rejects. The benchmark needs one such file,
// dist/register_all_gradients.js (the CJS bundle has no gradients), so retry those with '.js'.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    const fromTfjs = context.parentURL?.includes('/@tensorflow/');
    if (fromTfjs && (specifier.startsWith('./') || specifier.startsWith('../')) && !specifier.endsWith('.js')) {
      return next(`${specifier}.js`, context);
    }
    throw e;
  }
}
