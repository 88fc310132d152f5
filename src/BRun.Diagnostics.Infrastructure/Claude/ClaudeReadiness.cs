using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// Whether this host may call Claude at all. With no API key and the default address there is nothing sensible to
/// call: the worker refuses to start rather than fail every task with 401, and (since demo mode is now explicit)
/// rather than silently falling back to the simulator and writing simulated conversations into training data.
/// Demo mode points <see cref="ClaudeOptions.BaseUrl"/> at the simulator; a non-default address without a key is
/// accepted too (a gateway that adds the key itself).
/// </summary>
public sealed class ClaudeReadiness(IOptions<ClaudeOptions> options)
{
    /// <summary>One line saying why Claude cannot be called, or null when it can.</summary>
    public string? Problem
    {
        get
        {
            var claude = options.Value;
            var defaultAddress = string.Equals(claude.BaseUrl.TrimEnd('/'), ClaudeOptions.DefaultBaseUrl, StringComparison.OrdinalIgnoreCase);
            return string.IsNullOrWhiteSpace(claude.ApiKey) && defaultAddress
                ? "No Claude API key: set ANTHROPIC_API_KEY (or Claude__ApiKey), or set Demo__Enabled=true to use the built-in simulator; the worker is not running."
                : null;
        }
    }
}
