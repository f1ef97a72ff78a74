// Module resolution hooks for block-typescript.mjs: refuse tsx and any .ts file.
export async function resolve(specifier, context, nextResolve) {
  if (/^tsx(\/|$)/.test(specifier) || /\.ts$/.test(specifier)) throw new Error(`blocked: ${specifier}`);
  return nextResolve(specifier, context);
}
