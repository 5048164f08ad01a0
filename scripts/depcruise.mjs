// Runs dependency-cruiser (the layer and cycle rules in .dependency-cruiser.cjs)
// with the TypeScript 5 compiler it supports: the project compiles with
// TypeScript 6, which dependency-cruiser 16 does not yet accept, and
// dependency-cruiser 17+ needs Node 22. Only dependency-cruiser's own imports
// of "typescript" are pointed at the "typescript-5" package; nothing else changes.
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const CRUISER = `${'/'}node_modules${'/'}dependency-cruiser${'/'}`;
const fromCruiser = (parent) => typeof parent === 'string' && parent.includes(CRUISER);
const redirect = (specifier) => specifier.replace(/^typescript(?=$|\/)/, 'typescript-5');

// CommonJS: dependency-cruiser reads typescript/package.json with require() to check the version.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const target = fromCruiser(parent?.filename) ? redirect(request) : request;
  return resolveFilename.call(this, target, parent, ...rest);
};

// ES modules: it then loads the compiler with import("typescript").
const hook = `
export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (parent.includes(${JSON.stringify(CRUISER)}) && /^typescript(\\/|$)/.test(specifier)) {
    return next(specifier.replace(/^typescript/, 'typescript-5'), context);
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);

const bin = fileURLToPath(new URL('../node_modules/dependency-cruiser/bin/dependency-cruise.mjs', import.meta.url));
process.argv = [process.argv[0], bin, ...process.argv.slice(2)];
await import(bin);
