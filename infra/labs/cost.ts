// What a class on AWS costs an hour, shown before anything is created. On-demand Linux prices of us-east-1
// (AWS's price list, read on the date below); other regions are usually 5-30 % dearer. Storage: gp3 at
// $0.08 per GiB-month (730 hours). Data transfer and the load balancer-free setup add little for a workshop.

export const PRICES_DATE = "2026-12-01";
export const PRICES_REGION = "us-east-1";

/** USD per instance-hour. */
export const INSTANCE_PRICES: Readonly<Record<string, number>> = {
  "t3.small": 0.0208,
  "t3.medium": 0.0416,
  "t3.large": 0.0832,
  "t3.xlarge": 0.1664,
  "m4.large": 0.1,
  "m5.large": 0.096,
  "m6i.large": 0.096,
  "m7i.large": 0.1008,
  "c5.large": 0.085,
  "c6i.large": 0.085,
};
const GP3_PER_GIB_MONTH = 0.08;
const HOURS_PER_MONTH = 730;

export interface ClassCost {
  instances: number;
  instanceType: string;
  /** Undefined when the type is not in the table. */
  perHour?: number;
  text: string;
}

export function classCost(opts: { students: number; nodes: number; instanceType: string; rootVolumeGiB: number; region: string }): ClassCost {
  const instances = opts.students * opts.nodes;
  const price = INSTANCE_PRICES[opts.instanceType];
  const where = `${PRICES_REGION} on-demand prices of ${PRICES_DATE}${opts.region === PRICES_REGION ? "" : `; ${opts.region} may differ`}`;
  if (price === undefined) {
    const text =
      `${instances} instances of ${opts.instanceType} (${opts.students} students x ${opts.nodes}): no price for ${opts.instanceType} in ` +
      `infra/labs/cost.ts (it has ${Object.keys(INSTANCE_PRICES).join(", ")}), so no estimate`;
    return { instances, instanceType: opts.instanceType, text };
  }
  const storage = (opts.rootVolumeGiB * GP3_PER_GIB_MONTH) / HOURS_PER_MONTH;
  const perHour = instances * (price + storage);
  const text =
    `${instances} instances of ${opts.instanceType} (${opts.students} students x ${opts.nodes}), ${opts.rootVolumeGiB} GiB each: ` +
    `about $${perHour.toFixed(2)} an hour, $${(perHour * 8).toFixed(2)} for an 8-hour day (${where})`;
  return { instances, instanceType: opts.instanceType, perHour, text };
}
