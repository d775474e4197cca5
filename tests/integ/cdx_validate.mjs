// SPDX-License-Identifier: Apache-2.0
// Validates CycloneDX 1.6 JSON SBOMs with an independent validator, the
// OWASP CycloneDX JavaScript library (npm @cyclonedx/cyclonedx-library,
// whose JSON validator needs its optional ajv, ajv-formats and
// ajv-formats-draft2019): the strict CycloneDX 1.6 JSON schema (no
// properties beyond the specification's), and every purl parsed by the
// package-url project's packageurl-js.
//
//   node cdx_validate.mjs FILE...   exit 0 valid, 1 not, 2 usage,
//                                    3 the validator is not installed
//   node cdx_validate.mjs --probe   exit 0 when installed (prints versions)
//
// The libraries are looked up in $BULWARK_NPM_VALIDATORS (a node_modules
// directory), then in each directory of $NODE_PATH. Nothing of them is
// committed: install them with
//   npm install --prefix DIR @cyclonedx/cyclonedx-library ajv ajv-formats \
//     ajv-formats-draft2019 packageurl-js
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const PKGS = ['@cyclonedx/cyclonedx-library', 'ajv', 'ajv-formats', 'ajv-formats-draft2019', 'packageurl-js']

const dirs = [process.env.BULWARK_NPM_VALIDATORS,
  ...(process.env.NODE_PATH ?? '').split(':')].filter((d) => d)
const modules = dirs.find((d) => PKGS.every((p) => existsSync(join(d, p, 'package.json'))))
const args = process.argv.slice(2)
if (modules === undefined) {
  console.error(`cdx_validate: ${PKGS.join(', ')} not found together (set BULWARK_NPM_VALIDATORS or NODE_PATH)`)
  process.exit(3)
}
const versions = PKGS.map((p) => `${p} ${JSON.parse(readFileSync(join(modules, p, 'package.json'), 'utf8')).version}`)
  .join(', ')
if (args.length === 1 && args[0] === '--probe') {
  console.log(versions)
  process.exit(0)
}
if (args.length === 0 || args.some((a) => a.startsWith('-'))) {
  console.error('usage: cdx_validate.mjs FILE... | --probe')
  process.exit(2)
}

// the libraries resolve their own dependencies from their directory
const require = createRequire(join(modules, 'bulwark-cdx-validate.js'))
const CDX = require('@cyclonedx/cyclonedx-library')
const { PackageURL } = require('packageurl-js')
const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6)

// every purl of the BOM with where it is
function purls(node, path, out) {
  if (Array.isArray(node)) {
    node.forEach((x, i) => purls(x, `${path}/${i}`, out))
  } else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'purl' && typeof v === 'string') out.push([v, `${path}/purl`])
      else purls(v, `${path}/${k}`, out)
    }
  }
  return out
}

let bad = 0
for (const file of args) {
  const text = readFileSync(file, 'utf8')
  const problems = []
  let bom
  try {
    bom = JSON.parse(text)
  } catch (err) {
    problems.push(`not JSON: ${err.message}`)
  }
  if (bom !== undefined) {
    if (bom.specVersion !== '1.6') problems.push(`specVersion ${bom.specVersion}, not 1.6`)
    const errors = await validator.validate(text)
    for (const e of errors ?? []) {
      problems.push(`schema: ${e.message} at ${e.instancePath || '/'} ${e.params ? JSON.stringify(e.params) : ''}`)
    }
    const all = purls(bom, '', [])
    for (const [p, where] of all) {
      try {
        PackageURL.fromString(p)
      } catch (err) {
        problems.push(`purl ${p} at ${where}: ${err.message}`)
      }
    }
    console.log(`${file}: ${problems.length === 0 ? 'valid' : 'NOT valid'}: CycloneDX 1.6 strict JSON schema, ` +
      `${all.length} purl(s) (${versions})`)
  }
  for (const p of problems) console.error(`${file}: ${p}`)
  if (problems.length > 0) bad++
}
process.exit(bad === 0 ? 0 : 1)
