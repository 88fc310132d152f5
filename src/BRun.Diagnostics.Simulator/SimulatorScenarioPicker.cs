using System.Globalization;
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

    /// <summary>
    /// The text a request's draws (scenario and content) are keyed on at its <paramref name="attempt"/> (1-based, per
    /// prompt): the prompt itself on the first attempt, so a run's first pass is a pure function of the seed and its
    /// prompts. A later attempt of a prompt whose first draw reached the content (a complete answer or a cut, refusal,
    /// stream error or proxy page) draws again from the prompt and the attempt number, as the real API answers a
    /// re-sent prompt differently: a re-queued task need not fail the same way, and the same seed still gives the same
    /// sequence. Transient scenarios (429, 529) keep their key: they already fail for the first
    /// <see cref="SimulatorOptions.TransientFailures"/> attempts and then succeed, and a persistent 429 stays
    /// persistent. A <c>[simulate:NAME]</c> marker also keeps it: a test that forces a scenario gets it every time.
    /// </summary>
    public static string DrawKey(string prompt, int attempt, SimulatorOptions options, bool stream = true)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        if (attempt <= 1 || IsForced(prompt))
        {
            return prompt;
        }

        return Pick(prompt, options, stream) is SimulatorScenario.RateLimited or SimulatorScenario.Overloaded or SimulatorScenario.RateLimitedPersistent
            ? prompt
            : string.Create(CultureInfo.InvariantCulture, $"{prompt}\n#attempt {attempt}");
    }

    private static bool IsForced(string prompt) =>
        MarkerPattern().Match(prompt) is { Success: true } marker && SimulatorScenarioNames.TryParse(marker.Groups[1].Value, out _);

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
