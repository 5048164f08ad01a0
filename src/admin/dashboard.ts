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
 * The dashboard loads only its own script and stylesheet and talks only to its own origin; uPlot
 * sizes its canvases through element styles (CSSOM, which `style-src 'self'` allows). Nothing may
 * frame it, so a click on it is always the user's.
 */
export const DASHBOARD_HEADERS = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
} as const;

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
      .headers(DASHBOARD_HEADERS)
      .send(await readFile(`${WEB}index.html`, 'utf8')),
  );
  // Browsers ask for /favicon.ico whatever the page links; both get the same picture.
  for (const path of ['/favicon.svg', '/favicon.ico']) {
    server.get(path, async (_request, res) =>
      res
        .type('image/svg+xml')
        .header('cache-control', 'max-age=86400')
        .headers(DASHBOARD_HEADERS)
        .send(await readFile(`${WEB}favicon.svg`, 'utf8')),
    );
  }
  server.get('/assets/dashboard.js', async (_request, res) =>
    res
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .headers(DASHBOARD_HEADERS)
      .send((await assets()).js),
  );
  server.get('/assets/dashboard.css', async (_request, res) =>
    res
      .type('text/css; charset=utf-8')
      .header('cache-control', 'no-cache')
      .headers(DASHBOARD_HEADERS)
      .send((await assets()).css),
  );
}
