import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Secret, Service, ServiceAccount } from "kubernetes-models/v1";

interface Model {
  validate(): void;
}
type ModelClass = new (data: Record<string, unknown>) => Model;

/** The schema of every kind the chart may render, by "apiVersion kind". */
const MODELS: Record<string, ModelClass> = {
  "v1 ConfigMap": ConfigMap as unknown as ModelClass,
  "v1 Secret": Secret as unknown as ModelClass,
  "v1 Service": Service as unknown as ModelClass,
  "v1 ServiceAccount": ServiceAccount as unknown as ModelClass,
  "apps/v1 Deployment": Deployment as unknown as ModelClass,
  "policy/v1 PodDisruptionBudget": PodDisruptionBudget as unknown as ModelClass,
  "autoscaling/v2 HorizontalPodAutoscaler": HorizontalPodAutoscaler as unknown as ModelClass,
  "networking.k8s.io/v1 Ingress": Ingress as unknown as ModelClass,
  "monitoring.coreos.com/v1 ServiceMonitor": ServiceMonitor as unknown as ModelClass,
  "monitoring.coreos.com/v1 PrometheusRule": PrometheusRule as unknown as ModelClass,
  "keda.sh/v1alpha1 ScaledObject": ScaledObject as unknown as ModelClass,
};

/** Fields an object may carry at its top level, for any kind above. */
const TOP_LEVEL = new Set(["apiVersion", "kind", "metadata", "spec", "data", "stringData", "type", "immutable"]);
TOP_LEVEL.add("automountServiceAccountToken").add("imagePullSecrets").add("secrets");

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null;

/**
 * Wraps `value` so that every field the schema's validator reads is recorded. The validators
 * (compiled JSON schemas) read each field they know by name and enumerate only free-form maps
 * (labels, annotations, data), so a field never read and in no enumerated map is unknown.
 */
function watch(value: unknown, path: string, read: Set<string>, maps: Set<string>): unknown {
  if (!isObject(value)) return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver);
      if (typeof key !== "string" || !Object.hasOwn(target, key)) return child;
      read.add(`${path}/${key}`);
      return watch(child, `${path}/${key}`, read, maps);
    },
    has(target, key) {
      if (typeof key === "string") read.add(`${path}/${key}`);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      maps.add(path);
      return Reflect.ownKeys(target);
    },
  });
}

/** Every field path of `value` (objects and arrays walked), as "/a/b/0/c". */
function fieldPaths(value: unknown, path: string, out: string[]): string[] {
  if (!isObject(value)) return out;
  for (const [key, child] of Object.entries(value)) {
    out.push(`${path}/${key}`);
    fieldPaths(child, `${path}/${key}`, out);
  }
  return out;
}

/**
 * What is wrong with one rendered object: its kind is unknown here, it breaks its schema
 * (kubernetes-models' validate()), or it has a field the schema does not know (a misspelt
 * key that validate() alone would accept).
 */
export function schemaProblems(obj: Json): string[] {
  const id = `${obj.kind} ${(obj.metadata as Json | undefined)?.name}`;
  const Model = MODELS[`${obj.apiVersion} ${obj.kind}`];
  if (!Model) return [`${id}: no schema for ${obj.apiVersion} ${obj.kind}`];
  const problems = Object.keys(obj)
    .filter((k) => !TOP_LEVEL.has(k))
    .map((k) => `${id}: unknown top-level field ${k}`);
  const model = new Model(obj) as unknown as Json;
  const read = new Set<string>();
  const maps = new Set<string>();
  for (const key of Object.keys(model)) model[key] = watch(model[key], `/${key}`, read, maps);
  try {
    (model as unknown as Model).validate();
  } catch (err) {
    problems.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const unknown = fieldPaths(obj, "", [])
    .filter((p) => !TOP_LEVEL.has(p.slice(1)))
    .filter((p) => !read.has(p) && !maps.has(p.slice(0, p.lastIndexOf("/"))) && !/\/\d+$/.test(p));
  // A field inside an unknown one is reported once, as its unknown ancestor.
  const roots = unknown.filter((p) => !unknown.some((q) => p.startsWith(`${q}/`)));
  return [...problems, ...roots.map((p) => `${id}: unknown field ${p}`)];
}
