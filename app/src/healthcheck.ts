// Container healthcheck: exit 0 iff GET http://127.0.0.1:$PORT/readyz answers 200 within 2 s.
const port = Number(process.env.PORT ?? "3000");
try {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
    signal: AbortSignal.timeout(2_000),
  });
  const body = await response.text();
  if (response.status !== 200) console.log(`readyz ${response.status}: ${body.slice(0, 300)}`);
  process.exit(response.status === 200 ? 0 : 1);
} catch (error) {
  console.log(`readyz unreachable on port ${port}: ${(error as Error).message}`);
  process.exit(1);
}
