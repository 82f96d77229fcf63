#!/usr/bin/env node
// A native-compatible `solc` command line backed by solc-js, for machines where the native
// compiler cannot be downloaded. It answers what forge and foundry-compilers ask of a compiler:
// `--version` and `--standard-json` (input on stdin, output on stdout), resolving imports
// against `--base-path` and every `--include-path`. Other flags (`--allow-paths`, ...) are
// accepted and ignored: solc-js reads only what the import callback hands it.
'use strict';

const fs = require('fs');
const path = require('path');

const solc = require(path.join(__dirname, 'solcjs', 'node_modules', 'solc'));

function nativeVersion() {
  // solc-js reports e.g. "0.8.30+commit.73712a01.Emscripten.clang"; forge parses the native form.
  const full = solc.version();
  const semver = full.split('+')[0];
  const commit = (full.match(/commit\.[0-9a-f]+/) || ['commit.00000000'])[0];
  return `${semver}+${commit}.Linux.g++`;
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: null, includePaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--version':
        opts.version = true;
        break;
      case '--standard-json':
        opts.standardJson = true;
        break;
      case '--base-path':
        opts.basePath = value();
        break;
      case '--include-path':
        opts.includePaths.push(value());
        break;
      case '--allow-paths':
      case '--output-dir':
        value();
        break;
      default:
        break;
    }
  }
  return opts;
}

function importResolver(opts) {
  const roots = [opts.basePath, ...opts.includePaths, process.cwd()].filter(Boolean);
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      } catch (_) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(', ')})` };
  };
}

function writeAll(text, done) {
  // process.stdout.write on a pipe is asynchronous: exiting before it drains truncates large
  // outputs, so the exit code is set only once the write callback fires.
  process.stdout.write(text, (err) => done(err ? 1 : 0));
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    writeAll(`solc, the solidity compiler commandline interface\nVersion: ${nativeVersion()}\n`, (code) => {
      process.exitCode = code;
    });
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
    process.exitCode = 1;
    return;
  }
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    const input = Buffer.concat(chunks).toString('utf8');
    const output = solc.compile(input, { import: importResolver(opts) });
    writeAll(output, (code) => {
      process.exitCode = code;
    });
  });
}

main();
