using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace BRun.Diagnostics.Infrastructure.Auth;

/// <summary>Format and hashing of personal API tokens: <c>brun_</c> + 43 base64url characters (256 random bits).</summary>
public static class ApiTokens
{
    public const string Prefix = "brun_";

    /// <summary>A new random token. Shown to its owner once; only <see cref="Hash"/> of it is stored.</summary>
    public static string Generate() => Prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>Lower-case hex SHA-256 of the token. Tokens carry 256 random bits, so a fast hash is enough.</summary>
    public static string Hash(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>Cheap shape check before any database lookup.</summary>
    public static bool LooksValid(string? token) =>
        token is { Length: 48 } && token.StartsWith(Prefix, StringComparison.Ordinal);
}
