// The OpenAPI document's completeness rule: everything in it is described (npm run check:openapi).

type Json = Record<string, unknown>;

/**
 * Everything in the document that lacks a description: operations (a summary or a description),
 * parameters, and every property of every schema, inline or named (a property that is only a
 * `$ref` is described by the schema it names, which must then have a description itself).
 */
export function undescribed(document: unknown): string[] {
  const doc = document as { paths?: Record<string, Record<string, Json>>; components?: { schemas?: Record<string, Json> } };
  const out: string[] = [];
  const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  const described = (v: Json): boolean => {
    if (typeof v.description === 'string' && v.description.trim() !== '') return true;
    // A nullable or optional field (`anyOf: [{…, description}, {type: 'null'}]`) is described by its non-null part.
    const parts = (v.anyOf ?? v.oneOf) as unknown[] | undefined;
    const some = parts?.filter((p) => isObj(p) && p.type !== 'null') as Json[] | undefined;
    return !!some?.length && some.every((p) => described(p) || (typeof p.$ref === 'string' && Object.keys(p).length === 1));
  };
  const walk = (schema: unknown, where: string) => {
    if (!isObj(schema)) return;
    if (isObj(schema.properties)) {
      for (const [name, prop] of Object.entries(schema.properties)) {
        if (isObj(prop) && !described(prop) && !(typeof prop.$ref === 'string' && Object.keys(prop).length === 1)) out.push(`${where}.${name}`);
        walk(prop, `${where}.${name}`);
      }
    }
    for (const key of ['items', 'additionalProperties', 'not']) walk(schema[key], `${where}[${key}]`);
    for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) {
      if (Array.isArray(schema[key])) (schema[key] as unknown[]).forEach((s, i) => walk(s, `${where}[${key}${i}]`));
    }
  };
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
    if (!described(schema)) out.push(`#/components/schemas/${name}`);
    walk(schema, `#/components/schemas/${name}`);
  }
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      const at = `${method.toUpperCase()} ${path}`;
      if (!(typeof op.summary === 'string' && op.summary.trim()) && !described(op)) out.push(`${at}: the operation`);
      for (const p of (op.parameters as Json[] | undefined) ?? []) {
        if (!described(p)) out.push(`${at}: ${String(p.in)} parameter ${String(p.name)}`);
        walk(p.schema, `${at}: ${String(p.in)} parameter ${String(p.name)}`);
      }
      const body = (op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)?.content ?? {};
      for (const [type, media] of Object.entries(body)) walk(media.schema, `${at} request (${type})`);
      for (const [status, res] of Object.entries((op.responses as Record<string, { content?: Record<string, { schema?: unknown }> }>) ?? {})) {
        for (const [type, media] of Object.entries(res.content ?? {})) walk(media.schema, `${at} ${status} (${type})`);
      }
    }
  }
  return out;
}
