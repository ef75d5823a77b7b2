// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- ambient declarations of the ?raw and ?bundle imports, which a .d.ts cannot export
/// <reference path="../assets.d.ts" />
import type { FastifyPluginAsync } from 'fastify';
import pageHtml from '../page/index.html?raw';
import pageCss from '../page/style.css?raw';
import pageJs from '../page/app.ts?bundle';

/** The search page and its two assets (public), under a strict content security policy. */
export const pageRoutes: FastifyPluginAsync = async (app) => {
  const pageHeaders = {
    'cache-control': 'no-cache',
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  };
  app.get('/', async (_req, reply) => reply.headers(pageHeaders).type('text/html; charset=utf-8').send(pageHtml));
  app.get('/app.js', async (_req, reply) =>
    reply.headers(pageHeaders).type('text/javascript; charset=utf-8').send(pageJs),
  );
  app.get('/style.css', async (_req, reply) =>
    reply.headers(pageHeaders).type('text/css; charset=utf-8').send(pageCss),
  );
};
