// SPDX-License-Identifier: Apache-2.0
// Validates CSAF 2.0 documents with an independent validator, BSI's
// secvisogram csaf-validator-lib (npm @secvisogram/csaf-validator-lib):
// the strict CSAF 2.0 JSON schema test and every mandatory test (6.1.x)
// must pass; the optional (6.2.x) and informative (6.3.x) results are
// printed and do not fail. Left out: 6.3.6 and 6.3.7, which fetch every
// URL of the document (tests stay off the network), and 6.3.8, the spell
// check, which needs hunspell.
//
//   node csaf_validate.mjs FILE...   exit 0 valid, 1 not, 2 usage,
//                                     3 the validator is not installed
//   node csaf_validate.mjs --probe   exit 0 when installed (prints its version)
//
// The library is looked up in $BULWARK_NPM_VALIDATORS (a node_modules
// directory), then in each directory of $NODE_PATH. Nothing of it is
// committed: install it with
//   npm install --prefix DIR @secvisogram/csaf-validator-lib
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const PKG = '@secvisogram/csaf-validator-lib'

function findModules(pkg) {
  const dirs = [process.env.BULWARK_NPM_VALIDATORS,
    ...(process.env.NODE_PATH ?? '').split(':')].filter((d) => d)
  return dirs.find((d) => existsSync(join(d, pkg, 'package.json')))
}

const args = process.argv.slice(2)
const modules = findModules(PKG)
if (modules === undefined) {
  console.error(`csaf_validate: ${PKG} not found (set BULWARK_NPM_VALIDATORS or NODE_PATH)`)
  process.exit(3)
}
const root = join(modules, PKG)
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version
if (args.length === 1 && args[0] === '--probe') {
  console.log(`${PKG} ${version}`)
  process.exit(0)
}
if (args.length === 0 || args.some((a) => a.startsWith('-'))) {
  console.error('usage: csaf_validate.mjs FILE... | --probe')
  process.exit(2)
}

const load = (f) => import(pathToFileURL(join(root, f)).href)
const validateStrict = (await load('validateStrict.js')).default
const schema = await load('schemaTests.js')
const mandatory = Object.values(await load('mandatoryTests.js'))
const optional = Object.values(await load('optionalTests.js'))
const offline = ['informativeTest_6_3_6', 'informativeTest_6_3_7', 'informativeTest_6_3_8']
const informative = Object.values(await load('informativeTests.js'))
  .filter((t) => !offline.includes(t.name))

// "what at /path" for an error, warning or info of the library
const say = (e) => `${e.message ?? JSON.stringify(e)}${e.instancePath ? ` at ${e.instancePath}` : ''}`

let bad = 0
for (const file of args) {
  let doc
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    console.error(`${file}: not JSON: ${err.message}`)
    bad++
    continue
  }
  const must = await validateStrict([schema.csaf_2_0_strict, ...mandatory], doc)
  const passed = must.tests.filter((t) => t.isValid).length
  for (const t of must.tests) {
    for (const e of t.errors) console.error(`${file}: ${t.name}: ${say(e)}`)
  }
  const may = await validateStrict([...optional, ...informative], doc)
  let notes = 0
  for (const t of may.tests) {
    for (const e of [...t.errors, ...t.warnings, ...t.infos]) {
      console.log(`${file}: note ${t.name}: ${say(e)}`)
      notes++
    }
  }
  console.log(`${file}: ${must.isValid ? 'valid' : 'NOT valid'}: schema + ${mandatory.length} mandatory tests, ` +
    `${passed} of ${must.tests.length} passed; ${may.tests.length} optional/informative tests, ${notes} note(s) ` +
    `(${PKG} ${version})`)
  if (!must.isValid) bad++
}
process.exit(bad === 0 ? 0 : 1)
