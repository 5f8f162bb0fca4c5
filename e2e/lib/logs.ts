// The log store's query API (VictoriaLogs' LogsQL), as the suites ask it.

/** A LogsQL query to the store at `storeUrl` (http://host:port): one object per result row. */
export async function logsQuery(storeUrl: string, query: string): Promise<Record<string, string>[]> {
  const res = await fetch(`${storeUrl}/select/logsql/query`, { method: "POST", body: new URLSearchParams({ query }), signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${query}: HTTP ${res.status} ${await res.text()}`);
  return (await res.text()).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}
