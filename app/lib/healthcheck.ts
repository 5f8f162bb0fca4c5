// Docker HEALTHCHECK without curl in the image: exit 0 if /healthz answers 200 within 2 s.
const port = process.env.PORT || "80";
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
