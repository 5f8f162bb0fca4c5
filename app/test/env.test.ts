import { afterEach, describe, expect, it } from "vitest";
import { intEnv, urlEnv } from "../lib/env.js";

describe("configuration from the environment", () => {
  afterEach(() => {
    delete process.env.TEST_VALUE;
  });

  it("uses the default when unset and parses integers", () => {
    expect(intEnv("TEST_VALUE", 100)).toBe(100);
    process.env.TEST_VALUE = "0";
    expect(intEnv("TEST_VALUE", 100)).toBe(0);
  });

  it.each(["abc", "-5", "1.5", "1e3", "70000"])("rejects %s naming the variable and the range", (value) => {
    process.env.TEST_VALUE = value;
    expect(() => intEnv("TEST_VALUE", 1, { min: 0, max: 65535 })).toThrow(
      `TEST_VALUE="${value}" is invalid: expected an integer from 0 to 65535`,
    );
  });

  it("normalizes URLs and rejects garbage", () => {
    process.env.TEST_VALUE = "http://rng:8001/";
    expect(urlEnv("TEST_VALUE", "http://rng")).toBe("http://rng:8001");
    process.env.TEST_VALUE = "not a url";
    expect(() => urlEnv("TEST_VALUE", "http://rng")).toThrow('TEST_VALUE="not a url" is invalid: expected a URL such as http://rng');
  });
});
