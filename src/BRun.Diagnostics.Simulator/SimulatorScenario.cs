namespace BRun.Diagnostics.Simulator;

/// <summary>What the simulator does with one request. The marker name of each is in <see cref="SimulatorScenarioNames"/>.</summary>
public enum SimulatorScenario
{
    /// <summary>200, <c>end_turn</c>, a valid conversation that fits in max_tokens.</summary>
    Complete,

    /// <summary>200, <c>max_tokens</c>, the text cut at max_tokens × 4 characters.</summary>
    MaxTokens,

    /// <summary>200, <c>end_turn</c>, the text cut at about 1,000 tokens, ending in a lone <c>\</c> or mid-word.</summary>
    EndTurnCut,

    /// <summary>200, the connection closed mid-body: no <c>message_delta</c>, no <c>message_stop</c>.</summary>
    StreamCut,

    /// <summary>200, <c>refusal</c> with <c>stop_details</c>, a few tokens of text.</summary>
    Refusal,

    /// <summary>429 <c>rate_limit_error</c> with <c>retry-after</c> for the first attempts, then <see cref="Complete"/>.</summary>
    RateLimited,

    /// <summary>529 <c>overloaded_error</c> for the first attempts, then <see cref="Complete"/>.</summary>
    Overloaded,

    /// <summary>429 with <c>retry-after</c> on every attempt.</summary>
    RateLimitedPersistent,

    /// <summary>200 stream that carries <c>event: error</c> (overloaded) part-way.</summary>
    StreamError,

    /// <summary>502 with a proxy's HTML page, on every attempt.</summary>
    BadGatewayHtml,
}

/// <summary>The snake_case names used in <c>[simulate:NAME]</c> prompt markers.</summary>
public static class SimulatorScenarioNames
{
    private static readonly Dictionary<string, SimulatorScenario> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["complete"] = SimulatorScenario.Complete,
        ["max_tokens"] = SimulatorScenario.MaxTokens,
        ["end_turn_cut"] = SimulatorScenario.EndTurnCut,
        ["stream_cut"] = SimulatorScenario.StreamCut,
        ["refusal"] = SimulatorScenario.Refusal,
        ["rate_limited"] = SimulatorScenario.RateLimited,
        ["overloaded"] = SimulatorScenario.Overloaded,
        ["rate_limited_persistent"] = SimulatorScenario.RateLimitedPersistent,
        ["stream_error"] = SimulatorScenario.StreamError,
        ["bad_gateway_html"] = SimulatorScenario.BadGatewayHtml,
    };

    public static string ToName(this SimulatorScenario scenario) =>
        ByName.First(pair => pair.Value == scenario).Key;

    public static bool TryParse(string name, out SimulatorScenario scenario) => ByName.TryGetValue(name, out scenario);

    /// <summary>The marker that forces <paramref name="scenario"/>, e.g. <c>[simulate:max_tokens]</c>.</summary>
    public static string Marker(this SimulatorScenario scenario) => $"[simulate:{scenario.ToName()}]";
}
