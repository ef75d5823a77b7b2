import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** Routes anyone may call without the token: the page and its assets, and the health check. */
export const PUBLIC_ROUTES = new Set(['/', '/app.js', '/style.css', '/healthz']);
/** Request headers accepted; browsers send about 20. Node itself only drops those past 2,000, in silence. */
const MAX_HEADERS = 100;

/**
 * What every request goes through before a route sees it, installed on the root so that every route plugin inherits
 * it: HTTP/1 only, a bound on header count, integers as decimal digits, the security headers, the token (on the route
 * the router matched) and draining on close.
 */
export function installGuards(app: FastifyInstance, options: { token?: string; shutdownGraceMs: number }): void {
  const { token } = options;
  // Draining: close() stops accepting and closes idle keep-alive sockets; a response finished while closing asks its
  // client to close too, or its socket would hold close() open for Fastify's 72-second keep-alive.
  // After the grace period, every socket is destroyed: a stalled upload or half-sent header cannot hold close() open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    setTimeout(() => app.server.closeAllConnections(), options.shutdownGraceMs).unref();
  });
  // What Node's parser lets through but no client of this API sends: HTTP/0.9-style request lines, thousands of headers.
  app.addHook('onRequest', async (req) => {
    if (req.raw.httpVersionMajor !== 1)
      throw new ApiError(505, 'HTTP_VERSION', `HTTP/${req.raw.httpVersion} is not served: send HTTP/1.0 or HTTP/1.1.`);
    if (req.raw.rawHeaders.length > 2 * MAX_HEADERS)
      throw new ApiError(
        431,
        'TOO_MANY_HEADERS',
        `the request has ${req.raw.rawHeaders.length / 2} headers; this server takes at most ${MAX_HEADERS}.`,
      );
  });
  // Integers as plain decimal digits: ajv would coerce "Infinity" and "1e400" to Infinity, which passes `maximum`,
  // and "0x10" to 16.
  app.addHook('preValidation', async (req) => {
    const schema = req.routeOptions.schema as { querystring?: unknown; params?: unknown } | undefined;
    for (const [where, values, spec] of [
      ['query', req.query, schema?.querystring],
      ['path', req.params, schema?.params],
    ] as const) {
      const props = (spec as { properties?: Record<string, { type?: string }> } | undefined)?.properties ?? {};
      for (const [key, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        if (props[key]?.type === 'integer' && typeof value === 'string' && !/^\d{1,15}$/.test(value))
          throw new ApiError(
            400,
            'INVALID_REQUEST',
            `${where} parameter ${key} must be a whole number (decimal digits), got "${value.slice(0, 32)}".`,
          );
      }
    }
  });
  app.addHook('onSend', async (_req, reply) => {
    reply
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');
    if (closing) reply.header('connection', 'close');
  });
  if (token !== undefined) {
    // On the route the router matched, never on the raw URL: /%61pi/info and GET http://host/api/info are /api/info.
    const authorize = tokenCheck(token);
    app.addHook('onRoute', (route) => {
      if (PUBLIC_ROUTES.has(route.url)) return;
      route.onRequest = [authorize, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())];
    });
  }
}

/** A hook that refuses a request without the token, given as `Authorization: Bearer TOKEN` or once as `?token=`. */
function tokenCheck(token: string): (req: FastifyRequest) => Promise<void> {
  const want = createHash('sha256').update(token).digest();
  return async (req) => {
    const header = req.headers.authorization;
    const query = (req.query as Record<string, unknown> | undefined)?.token;
    if (Array.isArray(query))
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        `the token is given ${query.length} times in the query; give it once.`,
      );
    const given = header !== undefined ? (header.startsWith('Bearer ') ? header.slice(7) : undefined) : query;
    if (typeof given !== 'string' || !timingSafeEqual(createHash('sha256').update(given).digest(), want)) {
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        'this server needs its token: send Authorization: Bearer TOKEN, or open the page as /?token=TOKEN.',
      );
    }
  };
}
