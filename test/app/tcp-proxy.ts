// A TCP proxy in front of the test PostgreSQL that can play a pgpool restart: every connection
// cut at once and nothing listening for a while.
import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  /** The port on 127.0.0.1 to connect to instead of the target. */
  readonly port: number;
  /** Destroys every proxied connection and stops listening: new connects get ECONNREFUSED. */
  cut(): Promise<void>;
  /** Listens on the same port again (if it is not listening). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `replyDelayMs` holds every chunk from the target that long before passing it on (in order),
 * so a query has run on the server while its client still waits for the answer.
 */
export async function startTcpProxy(
  target: { host: string; port: number },
  { replyDelayMs = 0 } = {},
): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket, peer: Socket) => {
    sockets.add(socket);
    // Either side going away takes the other with it, as a dying pgpool would.
    socket.on("error", () => peer.destroy());
    socket.on("close", () => {
      sockets.delete(socket);
      peer.destroy();
    });
  };
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    track(client, upstream);
    track(upstream, client);
    client.pipe(upstream);
    if (replyDelayMs === 0) upstream.pipe(client);
    else upstream.on("data", (chunk) => setTimeout(() => client.write(chunk), replyDelayMs));
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  await listen(0);
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("proxy has no port");
  const port = address.port;
  return {
    port,
    cut: stop,
    restore: async () => {
      if (!server.listening) await listen(port);
    },
    close: stop,
  };
}
