// Coding a chart from the worklist: POST /charts/{id}/coding-runs queues a job (202); its
// progress comes from GET /jobs/{id}/events. The state of each chart's job lives here, by
// chart id, so that a worklist reload in the middle of a run keeps showing it.

import { api, ApiError, announce, streamEvents } from "./api.js";

// chart id -> {jobId, status, stage, error, done}
export const jobs = new Map();

const STREAM_TRIES = 3;

// "Queued", "Coding (starting)": what the row shows while the job is under way.
export function jobLabel(job) {
  if (job.status === "queued" || !job.jobId) return "Queued";
  const stage = job.stage ? job.stage.replaceAll("_", " ") : "";
  return stage ? `Coding (${stage})` : "Coding";
}

export function isCoding(chartId) {
  const job = jobs.get(chartId);
  return Boolean(job && !job.done);
}

// Start coding the chart and follow the job to its end. `onChange(chartId, job)` is called
// on every change; `job.done` with `job.status` succeeded, failed or cancelled at the end.
export async function startCoding(chartId, onChange) {
  if (isCoding(chartId)) return;
  const job = { jobId: null, status: "queued", stage: null, error: null, done: false };
  jobs.set(chartId, job);
  onChange(chartId, job);
  try {
    const queued = await api(`/charts/${chartId}/coding-runs`, { method: "POST", body: {} });
    Object.assign(job, { jobId: queued.id, status: queued.status, stage: queued.stage });
  } catch (error) {
    const current = error instanceof ApiError && error.status === 409 && error.problem.current;
    if (!current || !current.job) {
      finish(chartId, job, "failed", error.message, onChange);
      return;
    }
    // Already being coded (another tab, another coder): follow that job instead.
    Object.assign(job, { jobId: current.job, status: current.status || "queued" });
    announce(`Chart ${chartId} is already being coded (job ${current.job}); following it.`);
  }
  onChange(chartId, job);
  await follow(chartId, job, onChange);
}

// Forget a finished job (its message was read or dismissed).
export function dismiss(chartId) {
  const job = jobs.get(chartId);
  if (job && job.done) jobs.delete(chartId);
}

async function follow(chartId, job, onChange) {
  let lastError = null;
  // The stream ends with the finished job; a dropped connection is tried again a few times.
  for (let tries = 0; tries < STREAM_TRIES && !job.done; tries += 1) {
    try {
      await streamEvents(`/jobs/${job.jobId}/events`, {
        onEvent: ({ event, data }) => {
          if (event !== "job" || typeof data !== "object" || job.done) return;
          seen(chartId, job, data, onChange);
        },
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      lastError = error;
      if (error instanceof ApiError && error.status < 500) break;
    }
    if (!job.done) await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  if (!job.done) {
    const why = lastError ? `: ${lastError.message}` : "";
    finish(chartId, job, "failed", `lost track of job ${job.jobId}${why}; reload the page to see the chart's status`, onChange);
  }
}

function seen(chartId, job, data, onChange) {
  if (data.status === "succeeded") {
    finish(chartId, job, "succeeded", null, onChange);
  } else if (data.status === "failed") {
    finish(chartId, job, "failed", (data.error && data.error.detail) || "the coding run failed", onChange);
  } else if (data.status === "cancelled") {
    finish(chartId, job, "cancelled", (data.error && data.error.detail) || "the coding run was cancelled", onChange);
  } else {
    Object.assign(job, { status: data.status, stage: data.stage });
    onChange(chartId, job);
  }
}

function finish(chartId, job, status, error, onChange) {
  Object.assign(job, { status, error, done: true, stage: null });
  if (status === "succeeded") {
    jobs.delete(chartId);
    announce(`Chart ${chartId} is coded and ready for review.`);
  } else {
    announce(`Coding chart ${chartId} ${status === "cancelled" ? "was cancelled" : "failed"}: ${error}`, { error: true });
  }
  onChange(chartId, job);
}
