using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Simulator;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Web.Claude;

/// <summary>What the dashboard says about where this host's Claude calls go: demo mode, or why the worker is not running.</summary>
public sealed class ClaudeModeStatus(IOptions<DemoOptions> demo, IOptions<WorkerOptions> worker, ClaudeReadiness readiness)
{
    /// <summary>The built-in simulator answers every call of this host.</summary>
    public bool Demo => demo.Value.Enabled;

    /// <summary>One line saying why this host's worker refused to start, or null.</summary>
    public string? WorkerProblem => worker.Value.Enabled ? readiness.Problem : null;
}
