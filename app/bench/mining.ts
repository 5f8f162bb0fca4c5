// Mining speed as a person sees it on the web page: samples of webui's /json, and the rate between them.

export interface Sample {
  /** webui's clock, seconds. */
  now: number;
  hashes: number;
  coins: number;
}

export async function readJson(baseUrl: string): Promise<Sample> {
  const res = await fetch(`${baseUrl}/json`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET ${baseUrl}/json answered ${res.status}`);
  const j = (await res.json()) as { coins: number; hashes: number | string | null; now: number };
  return { now: Number(j.now), hashes: Number(j.hashes ?? 0), coins: Number(j.coins) };
}

/**
 * Least-squares slope of hashes over time, in hashes/second. Workers add their counts about once a second
 * in steps, so a fit over many samples is steadier than (last - first) / duration.
 */
export function hashRate(samples: Sample[]): number {
  if (samples.length < 2) throw new Error(`need at least 2 samples, got ${samples.length}`);
  const n = samples.length;
  const mt = samples.reduce((s, x) => s + x.now, 0) / n;
  const mh = samples.reduce((s, x) => s + x.hashes, 0) / n;
  let num = 0;
  let den = 0;
  for (const x of samples) {
    num += (x.now - mt) * (x.hashes - mh);
    den += (x.now - mt) ** 2;
  }
  if (den === 0) throw new Error("samples span no time");
  return num / den;
}

/** The longest stretch, in seconds, during which the hash counter did not move. */
export function longestStall(samples: Sample[]): number {
  let longest = 0;
  let since = samples[0]?.now ?? 0;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].hashes > samples[i - 1].hashes) since = samples[i].now;
    longest = Math.max(longest, samples[i].now - since);
  }
  return longest;
}

/** Samples /json every `everyMs` for `durationMs`; failed reads are counted, not fatal. */
export async function sampleFor(baseUrl: string, durationMs: number, everyMs = 1000, stop?: () => boolean) {
  const samples: Sample[] = [];
  let failures = 0;
  const end = Date.now() + durationMs;
  while (Date.now() < end && !stop?.()) {
    const t = Date.now();
    try {
      samples.push(await readJson(baseUrl));
    } catch {
      failures++;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - t))));
  }
  return { samples, failures };
}

/** Hashes per second over `windowMs` after `warmupMs`. */
export async function measureRate(baseUrl: string, warmupMs: number, windowMs: number): Promise<{ rate: number; samples: Sample[] }> {
  await new Promise((r) => setTimeout(r, warmupMs));
  const { samples } = await sampleFor(baseUrl, windowMs);
  return { rate: hashRate(samples), samples };
}
