/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/** A proportion with its confidence interval. */
export interface Proportion {
  successes: number;
  trials: number;
  /** successes ÷ trials. */
  rate: number;
  low: number;
  high: number;
}

/**
 * The Wilson score interval for a binomial proportion: unlike the normal approximation it stays
 * within [0, 1] and behaves at 0 and at n successes, which small holdouts hit often. Undefined
 * for no trials.
 */
export function wilson(successes: number, trials: number, z = Z95): Proportion | undefined {
  if (trials <= 0) return undefined;
  if (successes < 0 || successes > trials) throw new RangeError(`${successes} successes of ${trials} trials`);
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return {
    successes,
    trials,
    rate: p,
    // At 0 and at n successes the bound is exactly p̂; rounding would put it a hair outside.
    low: successes === 0 ? 0 : Math.min(p, centre - half),
    high: successes === trials ? 1 : Math.max(p, centre + half),
  };
}

/** A difference of two proportions with its confidence interval. */
export interface Difference {
  /** a.rate − b.rate. */
  estimate: number;
  low: number;
  high: number;
}

/**
 * Newcombe's hybrid score interval (his method 10) for the difference of two independent
 * proportions, built from each group's Wilson interval. Undefined when either group is empty.
 */
export function difference(a: Proportion | undefined, b: Proportion | undefined): Difference | undefined {
  if (a === undefined || b === undefined) return undefined;
  const estimate = a.rate - b.rate;
  return {
    estimate,
    low: estimate - Math.sqrt((a.rate - a.low) ** 2 + (b.high - b.rate) ** 2),
    high: estimate + Math.sqrt((a.high - a.rate) ** 2 + (b.rate - b.low) ** 2),
  };
}
