// Lists the .cc files of the given folders (relative to the package root, sorted) for binding.gyp, so a new
// kernel or op file is built by being added to its folder: binding.gyp names folders, never files.
'use strict';
const fs = require('fs');
const path = require('path');

const files = [];
for (const dir of process.argv.slice(2)) {
  const abs = path.join(__dirname, '..', dir);
  if (!fs.existsSync(abs)) continue;
  for (const name of fs.readdirSync(abs).sort()) {
    if (name.endsWith('.cc')) files.push(path.posix.join(dir, name));
  }
}
process.stdout.write(files.join('\n') + '\n');
