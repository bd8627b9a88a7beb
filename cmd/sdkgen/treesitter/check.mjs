// Parses each file named on the command line with tree-sitter (Dart for .dart, Swift for
// .swift) and prints one line per file: "ok <file>", or "<file>:<line>:<column>: <ERROR|MISSING>
// <node type>" for every syntax error the parser found. Exits 1 when any file has one.
// cmd/sdkgen's TestDartAndSwiftSyntax runs it over every .dart and .swift file under sdk/.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';

const require = createRequire(import.meta.url);
await Parser.init();
const grammars = {
  '.dart': await Language.load(require.resolve('tree-sitter-wasms/out/tree-sitter-dart.wasm')),
  '.swift': await Language.load(require.resolve('tree-sitter-wasms/out/tree-sitter-swift.wasm')),
};

// problems lists the ERROR and MISSING nodes under node, descending only where the parser
// flagged an error.
function problems(node, out) {
  if (node.isError || node.isMissing) {
    out.push({ kind: node.isMissing ? 'MISSING' : 'ERROR', type: node.type, at: node.startPosition });
  }
  if (node.hasError) {
    for (const child of node.children) problems(child, out);
  }
  return out;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const ext = file.slice(file.lastIndexOf('.'));
  const language = grammars[ext];
  if (!language) {
    console.log(`${file}:1:1: ERROR no grammar for ${ext}`);
    failed = true;
    continue;
  }
  const parser = new Parser();
  parser.setLanguage(language);
  const tree = parser.parse(readFileSync(file, 'utf8'));
  const found = problems(tree.rootNode, []);
  if (found.length === 0 && tree.rootNode.hasError) {
    found.push({ kind: 'ERROR', type: tree.rootNode.type, at: tree.rootNode.startPosition });
  }
  const lines = new Set(found.map((p) => `${file}:${p.at.row + 1}:${p.at.column + 1}: ${p.kind} ${p.type}`));
  for (const line of lines) console.log(line);
  if (found.length > 0) failed = true;
  else console.log(`ok ${file}`);
  tree.delete();
  parser.delete();
}
process.exit(failed ? 1 : 0);
