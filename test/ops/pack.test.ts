import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { ruleFile } from "./support/promql.js";
import { CHART, helm, ROOT, run, systemTool } from "./support/tools.js";

/**
 * The observability pack and the compose cluster: alert rules through promtool (check and
 * unit tests), YAML through yamllint, the dashboard's and compose file's structure.
 * promtool and yamllint come from Debian (.ci/run installs them; locally they may be missing,
 * and then their checks are skipped with the reason printed).
 */

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML and JSON are walked freely
type Obj = Record<string, any>;

const HERALD_RULES = "k8s/charts/herald/files/herald-alerts.yml";
const COMPOSE_RULES = "infra/prometheus/rules/compose-alerts.yml";
const RULE_TESTS = readdirSync(join(ROOT, "infra/prometheus/tests"))
  .filter((f) => f.endsWith(".test.yml"))
  .map((f) => `infra/prometheus/tests/${f}`);

const promtool = systemTool("promtool", "prometheus");
const yamllint = systemTool("yamllint", "yamllint");

/** The chart's PrometheusRule, rendered, as a plain rule file for promtool. */
function chartRuleFile(): string {
  const r = helm(["template", "herald", CHART, "-f", join(CHART, "ci", "monitoring-values.yaml")]);
  if (r.status !== 0) throw new Error(r.stderr);
  const rule = parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as Obj)
    .find((o) => o?.kind === "PrometheusRule") as Obj;
  const file = join(mkdtempSync(join(tmpdir(), "herald-rules-")), "chart-rules.yml");
  writeFileSync(file, stringify({ groups: rule.spec.groups }));
  return file;
}

describe("alert rules", () => {
  const alerts = [...ruleFile(HERALD_RULES), ...ruleFile(COMPOSE_RULES)].map((r) => r.alert);

  it("cover what operators must hear about", () => {
    for (const name of [
      "HeraldNodeDown",
      "HeraldNotReady",
      "HeraldDeliveryLatencyHigh",
      "HeraldQueueGrowing",
      "HeraldDeadLetters",
      "HeraldBusReconnects",
      "HeraldSlowConsumerDisconnects",
      "HeraldRedisUnreachable",
      "HeraldRedisDown",
      "HeraldCanaryFailing",
    ])
      expect(alerts, name).toContain(name);
  });

  it("carry a severity, a summary and a description, and are explained in docs/operations.md or docs/deployment.md", () => {
    const docs = ["docs/operations.md", "docs/deployment.md"]
      .map((f) => readFileSync(join(ROOT, f), "utf8"))
      .join("\n");
    for (const rule of [...ruleFile(HERALD_RULES), ...ruleFile(COMPOSE_RULES)]) {
      expect(["critical", "warning"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(docs, `${rule.alert} explained`).toContain(`\`${rule.alert}\``);
    }
  });

  it("are unit-tested: every alert of the pack fires in some promtool test", () => {
    const tested = new Set(
      RULE_TESTS.flatMap((f) =>
        (parse(readFileSync(join(ROOT, f), "utf8")) as Obj).tests.flatMap((t: Obj) =>
          t.alert_rule_test.filter((a: Obj) => a.exp_alerts?.length).map((a: Obj) => a.alertname),
        ),
      ),
    );
    for (const name of new Set(alerts)) expect(tested, name).toContain(name);
  });

  it("are the same in the chart's PrometheusRule as in the file Prometheus loads in compose", () => {
    const r = helm(["template", "herald", CHART, "-f", join(CHART, "ci", "monitoring-values.yaml")]);
    const rule = parseAllDocuments(r.stdout)
      .map((d) => d.toJSON() as Obj)
      .find((o) => o?.kind === "PrometheusRule") as Obj;
    const herald = parse(readFileSync(join(ROOT, HERALD_RULES), "utf8")) as Obj;
    expect(rule.spec.groups.filter((g: Obj) => g.name === "herald")).toEqual(herald.groups);
    const compose = parse(readFileSync(join(ROOT, "infra/docker-compose.yml"), "utf8")) as Obj;
    expect(compose.services.prometheus.volumes).toContain(
      `../${HERALD_RULES}:/etc/prometheus/rules/herald-alerts.yml:ro`,
    );
  });

  it.runIf(promtool)("pass promtool check rules (the files, and the chart's rendered PrometheusRule)", () => {
    const r = run(promtool as string, ["check", "rules", HERALD_RULES, COMPOSE_RULES, chartRuleFile()]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 15 rules found/);
  });

  it.runIf(promtool)("pass promtool test rules (unit tests of the alert expressions)", () => {
    const r = run(promtool as string, ["test", "rules", ...RULE_TESTS]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/SUCCESS/g)?.length).toBe(RULE_TESTS.length);
  });

  it.runIf(promtool)("pass promtool check config (the compose Prometheus configuration)", () => {
    // The rule files are mounted elsewhere in the container: check the scrape configuration alone.
    const config = parse(readFileSync(join(ROOT, "infra/prometheus/prometheus.yml"), "utf8")) as Obj;
    delete config.rule_files;
    const file = join(mkdtempSync(join(tmpdir(), "herald-prom-")), "prometheus.yml");
    writeFileSync(file, stringify(config));
    const r = run(promtool as string, ["check", "config", file]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe("a tool the checks need", () => {
  it("fails the run under CI when it is missing, and is skipped with the reason printed elsewhere", () => {
    const ci = process.env.CI;
    try {
      process.env.CI = "true";
      expect(() => systemTool("herald-no-such-tool", "herald-no-such-package")).toThrow(/CI needs it/);
      process.env.CI = "";
      expect(systemTool("herald-no-such-tool", "herald-no-such-package")).toBeUndefined();
    } finally {
      if (ci === undefined) Reflect.deleteProperty(process.env, "CI");
      else process.env.CI = ci;
    }
  });
});

describe("YAML of the pack", () => {
  it.runIf(yamllint)("passes yamllint (infra/, and the chart's plain YAML files)", () => {
    const r = run(yamllint as string, [
      "--strict",
      "-c",
      "infra/yamllint.yml",
      "infra",
      "k8s/charts/herald/values.yaml",
      "k8s/charts/herald/Chart.yaml",
      "k8s/charts/herald/files",
      "k8s/charts/herald/ci",
    ]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

/** Grafana's reference to the dashboard's data source variable. */
const DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");

describe("the Grafana dashboard", () => {
  const dash = JSON.parse(readFileSync(join(ROOT, "infra/grafana/dashboards/herald.json"), "utf8")) as Obj;

  it("has a uid, a Prometheus data source variable and panels that each query something", () => {
    expect(dash.uid).toBe("herald-overview");
    expect(dash.templating.list.find((v: Obj) => v.type === "datasource")?.query).toBe("prometheus");
    const panels = dash.panels.filter((p: Obj) => p.type !== "row");
    expect(panels.length).toBeGreaterThan(20);
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource.uid, p.title).toBe(DATASOURCE_VARIABLE);
    }
    expect(new Set(dash.panels.map((p: Obj) => p.id)).size).toBe(dash.panels.length);
  });

  it("lays its panels out without overlap", () => {
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dash.panels)
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
  });

  it("is provisioned by the compose Grafana from the data source it names", () => {
    const ds = parse(readFileSync(join(ROOT, "infra/grafana/provisioning/datasources/prometheus.yml"), "utf8")) as Obj;
    expect(ds.datasources[0]).toMatchObject({ uid: "prometheus", type: "prometheus", url: "http://prometheus:9090" });
    const provider = parse(readFileSync(join(ROOT, "infra/grafana/provisioning/dashboards/herald.yml"), "utf8")) as Obj;
    const compose = parse(readFileSync(join(ROOT, "infra/docker-compose.yml"), "utf8")) as Obj;
    expect(compose.services.grafana.volumes).toContain(`./grafana/dashboards:${provider.providers[0].options.path}:ro`);
  });
});
