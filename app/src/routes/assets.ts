// The page's stylesheet, its script, the status board's script and the icon, from memory (see ../page.ts).
import type { FastifyPluginAsync } from "fastify";
import { FAVICON_SVG, PAGE_CSS, PAGE_JS } from "../page.js";
import { STATUS_JS } from "../status-page.js";

const ASSETS = [
  { path: "/assets/app.css", type: "text/css; charset=utf-8", maxAgeS: 300, body: PAGE_CSS },
  {
    path: "/assets/app.js",
    type: "application/javascript; charset=utf-8",
    maxAgeS: 300,
    body: PAGE_JS,
  },
  {
    path: "/assets/status.js",
    type: "application/javascript; charset=utf-8",
    maxAgeS: 300,
    body: STATUS_JS,
  },
  { path: "/assets/favicon.svg", type: "image/svg+xml", maxAgeS: 86_400, body: FAVICON_SVG },
] as const;

const assets: FastifyPluginAsync = async (app) => {
  for (const { path, type, maxAgeS, body } of ASSETS) {
    app.get(path, async (_request, reply) =>
      reply.type(type).header("cache-control", `max-age=${maxAgeS}`).send(body),
    );
  }
};

export default assets;
