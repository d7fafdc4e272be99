// relay-compiler against the registry's SDL: one `@refetchable` + `@connection` fragment per
// connection field, generated from the schema so a new connection is covered without an edit.
// A connection is an object type with `edges` and `pageInfo`; its fields are taken on Query and
// on every type implementing Node (where Relay refetches through node(id:)). Exits non-zero on
// any compiler error, or when the schema has no connection at all.
//
// usage: node relay-check.mjs SCHEMA.graphql
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema,
  getNamedType,
  isNonNullType,
  isObjectType,
  isLeafType,
} from 'graphql';

const here = dirname(fileURLToPath(import.meta.url));
const schemaPath = process.argv[2] && resolve(process.argv[2]);
if (!schemaPath) {
  console.error('usage: node relay-check.mjs SCHEMA.graphql');
  process.exit(2);
}
const schema = buildSchema(readFileSync(schemaPath, 'utf8'));

const isConnection = (type) =>
  isObjectType(type) && 'edges' in type.getFields() && 'pageInfo' in type.getFields();
const capitalised = (name) => name[0].toUpperCase() + name.slice(1);

// The types whose fields a refetchable fragment can sit on.
const hosts = Object.values(schema.getTypeMap()).filter(
  (type) =>
    isObjectType(type) &&
    (type === schema.getQueryType() || type.getInterfaces().some((i) => i.name === 'Node')),
);


function fragment(host, field, connection, size, cursor, suffix) {
  // Required arguments other than the page become fragment arguments of the same type.
  const required = field.args.filter(
    (arg) => isNonNullType(arg.type) && arg.defaultValue === undefined,
  );
  const module = `${capitalised(host.name)}${capitalised(field.name)}${suffix}Page`;
  const definitions = [
    'count: {type: "Int"}',
    'cursor: {type: "String"}',
    ...required.map((arg) => `${arg.name}: {type: "${arg.type}"}`),
  ];
  const args = [
    `${size}: $count`,
    `${cursor}: $cursor`,
    ...required.map((arg) => `${arg.name}: $${arg.name}`),
  ];
  const node = getNamedType(connection.getFields().edges.type).getFields().node.type;
  const nodeFields = getNamedType(node).getFields?.() ?? {};
  const selection = 'id' in nodeFields && isLeafType(getNamedType(nodeFields.id.type))
    ? 'id'
    : '__typename';
  const hostSelection = host === schema.getQueryType() ? '' : 'id\n    ';
  return {
    name: module,
    text: `graphql\`
  fragment ${module}_data on ${host.name}
  @refetchable(queryName: "${module}RefetchQuery")
  @argumentDefinitions(${definitions.join(', ')}) {
    ${hostSelection}${field.name}(${args.join(', ')})
      @connection(key: "${module}_${field.name}") {
      edges { node { ${selection} } }
    }
  }
\`;
`,
  };
}

const modules = [];
for (const host of hosts) {
  for (const field of Object.values(host.getFields())) {
    const connection = getNamedType(field.type);
    if (!isConnection(connection)) continue;
    const names = field.args.map((arg) => arg.name);
    // Both directions, so `first` and `last` are each checked: a page size Relay passes as a
    // nullable Int (count has no default here) must be accepted by either.
    for (const [size, cursor, suffix] of [['first', 'after', ''], ['last', 'before', 'Backward']]) {
      if (!names.includes(size) || !names.includes(cursor)) {
        console.error(`${host.name}.${field.name}: a connection without ${size}/${cursor}`);
        process.exitCode = 1;
        continue;
      }
      modules.push(fragment(host, field, connection, size, cursor, suffix));
    }
  }
}
if (modules.length === 0) {
  console.error(`no connection field found in ${schemaPath}`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'relay-check-'));
try {
  mkdirSync(join(work, 'src'));
  for (const { name, text } of modules) {
    writeFileSync(join(work, 'src', `${name}.js`), `import {graphql} from 'react-relay';\n${text}`);
  }
  writeFileSync(
    join(work, 'relay.config.json'),
    JSON.stringify({ src: './src', schema: schemaPath, language: 'javascript' }),
  );
  console.log(`relay-check: ${modules.length} connection fragments (${modules.map((m) => m.name).join(', ')})`);
  execFileSync(join(here, 'node_modules', '.bin', 'relay-compiler'), [], {
    cwd: work,
    stdio: 'inherit',
  });
  console.log('relay-check: relay-compiler accepts every connection fragment');
} catch (error) {
  console.error(`relay-check: relay-compiler failed (${error.status ?? error.message})`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
