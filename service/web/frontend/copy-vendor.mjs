// Copies the browser builds of the npm packages into ../static/vendor, so pages load them from
// govflow itself: the service must work on a network with no internet (no CDN at run time).
import { cpSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "static", "vendor");
const pkg = (name) => join(here, "node_modules", name);
const version = (name) => JSON.parse(readFileSync(join(pkg(name), "package.json"), "utf8")).version;

const files = {
  "bpmn-js": ["dist/bpmn-navigated-viewer.production.min.js", "dist/bpmn-modeler.production.min.js", "dist/assets"],
  "dmn-js": ["dist/dmn-modeler.production.min.js", "dist/dmn-navigated-viewer.production.min.js", "dist/assets"],
  "chart.js": ["dist/chart.umd.min.js"],
};

rmSync(vendor, { recursive: true, force: true });
const versions = {};
for (const [name, paths] of Object.entries(files)) {
  for (const path of paths) {
    const target = join(vendor, name, path.replace(/^dist\//, ""));
    mkdirSync(dirname(target), { recursive: true });
    cpSync(join(pkg(name), path), target, { recursive: true });
  }
  versions[name] = version(name);
}
writeFileSync(join(vendor, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
console.log("govflow: vendor assets copied to", vendor, versions);
