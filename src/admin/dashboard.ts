import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';

const WEB = fileURLToPath(new URL('../../web/', import.meta.url));

/** The dashboard's script and stylesheet, bundled and minified in memory. */
export interface DashboardBundle {
  js: string;
  css: string;
}

/** Bundles web/ with esbuild: no build step before `npm start`, and no build output in the repository. */
export async function bundleDashboard(): Promise<DashboardBundle> {
  const result = await build({
    entryPoints: [`${WEB}main.ts`, `${WEB}style.css`],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    outdir: 'out',
    logLevel: 'silent',
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: text('.js'), css: text('.css') };
}

/**
 * Serves the dashboard at `/`: the page shell needs no token and shows no data until one is
 * entered; every number comes from the admin API. Bundled on the first request, then cached.
 */
export function dashboardRoutes(server: FastifyInstance): void {
  let bundle: Promise<DashboardBundle> | undefined;
  const assets = () => {
    bundle ??= bundleDashboard().catch((error: unknown) => {
      bundle = undefined;
      throw error;
    });
    return bundle;
  };
  server.get('/', async (_request, res) =>
    res
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await readFile(`${WEB}index.html`, 'utf8')),
  );
  server.get('/assets/dashboard.js', async (_request, res) =>
    res
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send((await assets()).js),
  );
  server.get('/assets/dashboard.css', async (_request, res) =>
    res
      .type('text/css; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send((await assets()).css),
  );
}
