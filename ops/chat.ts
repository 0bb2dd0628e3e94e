// The stack's chat (socket.io) from the host: a websocket client, and the next message it gets.
import { io, type Socket } from "socket.io-client";

/** A connected websocket-only client of the chat at `url` (a replica or nginx), no reconnects. */
export async function chatSocket(url: string): Promise<Socket> {
  const socket = io(url.replace(/\/$/, ""), { transports: ["websocket"], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  return socket;
}

export interface ChatMessage {
  readonly text: string;
  /** The replica that relayed it from its sender. */
  readonly hostname: string;
}

/** The next chat message with this text that reaches the socket. */
export function nextMessage(socket: Socket, text: string): Promise<ChatMessage> {
  return new Promise((resolve) => {
    const listener = (message: ChatMessage): void => {
      if (message.text !== text) return;
      socket.off("chat message", listener);
      resolve(message);
    };
    socket.on("chat message", listener);
  });
}
