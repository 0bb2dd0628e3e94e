// The chat plugin: socket.io on the app's HTTP server once the app is ready (see ../chat.ts).
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { AppOptions } from "../app.js";
import { attachChat, type Chat } from "../chat.js";

const chat: FastifyPluginAsync<Pick<AppOptions, "config">> = async (app, { config }) => {
  let attached: Chat | undefined;
  app.addHook("onReady", async () => {
    attached = attachChat(app.server, app.db.pool, app.log, {
      replica: config.replicaIndex,
      hostname: config.hostname,
    });
  });
  // Stop the chat before the pool closes (onClose): it publishes through the pool.
  app.addHook("preClose", async () => {
    await attached?.close();
  });
};

export default fp(chat, { name: "chat", dependencies: ["database"], fastify: "5.x" });
