using System.Text.RegularExpressions;

namespace BRun.Diagnostics.Simulator;

/// <summary>
/// Chooses the scenario for a prompt. Pure and deterministic: the same seed and prompt always give the same
/// scenario, so tests can predict exact outcomes. A <c>[simulate:NAME]</c> marker in the prompt overrides the draw.
/// </summary>
public static partial class SimulatorScenarioPicker
{
    /// <param name="prompt">The user message text.</param>
    /// <param name="options">Seed and rates.</param>
    /// <param name="stream">Whether the request streams; stream cuts are drawn only for streams.</param>
    public static SimulatorScenario Pick(string prompt, SimulatorOptions options, bool stream = true)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        if (MarkerPattern().Match(prompt) is { Success: true } marker
            && SimulatorScenarioNames.TryParse(marker.Groups[1].Value, out var forced))
        {
            return forced;
        }

        var total = TotalWeight(options, stream);
        var draw = StableHash.Unit(StableHash.Of(options.Seed, "scenario", prompt)) * total;
        foreach (var (scenario, weight) in Weights(options, stream))
        {
            if (draw < weight)
            {
                return scenario;
            }

            draw -= weight;
        }

        return SimulatorScenario.Complete;
    }

    internal static double TotalWeight(SimulatorOptions options, bool stream) =>
        Weights(options, stream).Sum(pair => pair.Weight);

    private static IEnumerable<(SimulatorScenario Scenario, double Weight)> Weights(SimulatorOptions options, bool stream)
    {
        yield return (SimulatorScenario.Complete, options.CompleteRate);
        yield return (SimulatorScenario.MaxTokens, options.MaxTokensRate);
        yield return (SimulatorScenario.EndTurnCut, options.EndTurnCutRate);
        yield return (SimulatorScenario.StreamCut, stream ? options.StreamCutRate : 0);
        yield return (SimulatorScenario.Refusal, options.RefusalRate);
        yield return (SimulatorScenario.RateLimited, options.RateLimitedRate);
        yield return (SimulatorScenario.Overloaded, options.OverloadedRate);
        yield return (SimulatorScenario.RateLimitedPersistent, options.RateLimitedPersistentRate);
        yield return (SimulatorScenario.StreamError, stream ? options.StreamErrorRate : 0);
        yield return (SimulatorScenario.BadGatewayHtml, options.BadGatewayHtmlRate);
    }

    [GeneratedRegex(@"\[simulate:([a-z_]+)\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex MarkerPattern();
}
