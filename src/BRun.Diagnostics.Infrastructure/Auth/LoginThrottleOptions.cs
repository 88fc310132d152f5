using System.ComponentModel.DataAnnotations;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>Sign-in throttling per account and per client address (configuration section <c>Auth:Lockout</c>).</summary>
public sealed class LoginThrottleOptions
{
    public const string SectionName = "Auth:Lockout";

    /// <summary>Wrong passwords for one account within <see cref="Window"/> before it is locked. Default: 5.</summary>
    [Range(1, 1000)]
    public int MaxFailuresPerAccount { get; set; } = 5;

    /// <summary>Failed sign-ins from one address (any accounts) within <see cref="Window"/> before it is locked. Default: 20.</summary>
    [Range(1, 100000)]
    public int MaxFailuresPerAddress { get; set; } = 20;

    /// <summary>How far back failures count. Default: 15 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a locked account or address is refused, whatever the password. Default: 15 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);
}
