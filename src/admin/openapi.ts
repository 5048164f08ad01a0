import { z } from 'zod';
import { ADMIN_ROUTES } from './routes.ts';
import { errorResponse } from './schemas.ts';

export const OPENAPI_PATH = '/api/admin/openapi.json';

type JsonSchema = Record<string, unknown>;

/**
 * A zod schema as an OpenAPI 3.1 schema object: its `$defs` (recursive parts such as an
 * explanation tree) move to `components.schemas` so references resolve inside the document.
 */
function toSchema(
  schema: z.ZodType,
  io: 'input' | 'output',
  components: Record<string, JsonSchema>,
): JsonSchema {
  const {
    $schema: _,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema & {
    $defs?: Record<string, JsonSchema>;
  };
  const renames = new Map<string, string>();
  for (const name of Object.keys($defs ?? {}))
    renames.set(name, `Def${Object.keys(components).length + renames.size}`);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) =>
        k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')
          ? [k, `#/components/schemas/${renames.get(v.slice(8))}`]
          : [k, rewrite(v)],
      ),
    );
  };
  for (const [name, def] of Object.entries($defs ?? {}))
    components[renames.get(name)!] = rewrite(def) as JsonSchema;
  return rewrite(rest) as JsonSchema;
}

const json = (schema: JsonSchema) => ({ content: { 'application/json': { schema } } });

function parameters(
  where: 'path' | 'query',
  schema: z.ZodObject | undefined,
  components: Record<string, JsonSchema>,
) {
  if (schema === undefined) return [];
  const whole = toSchema(schema, 'input', components) as {
    properties: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(whole.properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (whole.required ?? []).includes(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    };
  });
}

/** A response that `format=csv` also writes as CSV lists text/csv beside its JSON. */
function withCsv(csv: boolean, response: { description: string; content: Record<string, unknown> }): unknown {
  return csv
    ? { ...response, content: { ...response.content, 'text/csv': { schema: { type: 'string' } } } }
    : response;
}

/** The admin API's OpenAPI 3.1 document, generated from the route table and its schemas. */
export function adminOpenApi(): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const error = toSchema(errorResponse, 'output', components);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ADMIN_ROUTES) {
    const responses: Record<string, unknown> = {
      200: withCsv(r.csv !== undefined, {
        description: 'OK',
        ...json(toSchema(r.response, 'output', components)),
      }),
      400: { description: 'bad input: the message names the parameter and what is wrong', ...json(error) },
      401: { description: 'missing or wrong admin token', ...json(error) },
    };
    for (const [status, description] of Object.entries(r.errors ?? {}))
      responses[status] = { description, ...json(error) };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      parameters: [...parameters('path', r.params, components), ...parameters('query', r.query, components)],
      ...(r.body ? { requestBody: { required: true, ...json(toSchema(r.body, 'input', components)) } } : {}),
      responses,
    };
  }
  paths[OPENAPI_PATH] = {
    get: {
      summary: 'This document (no token needed)',
      security: [],
      responses: { 200: { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Handoff admin API',
      version: '1',
      description:
        'Read-only views of audiences, profiles, Cordial sync and quarantined events; dead-letter and quarantine retry. JSON; every route but this document needs `Authorization: Bearer <admin token>`.',
    },
    security: [{ adminToken: [] }],
    paths,
    components: { schemas: components, securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } } },
  };
}
