import type { Target } from "../config";
import { awsStack } from "./aws";
import { localStack } from "./local";
import { minikubeStack } from "./minikube";
import type { StackFn } from "./types";
import { vmsStack } from "./vms";

/** The one place a target becomes a composition. */
export const STACKS: Record<Target, StackFn> = {
  local: localStack,
  vms: vmsStack,
  aws: awsStack,
  minikube: minikubeStack,
};
