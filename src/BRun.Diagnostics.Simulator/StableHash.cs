using System.Text;

namespace BRun.Diagnostics.Simulator;

/// <summary>FNV-1a 64 over UTF-8, then a finaliser: stable across processes and runtimes, unlike <see cref="string.GetHashCode()"/>.</summary>
internal static class StableHash
{
    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    public static ulong Of(int seed, string purpose, string text)
    {
        var hash = OffsetBasis;
        hash = Mix(hash, BitConverter.GetBytes(seed));
        hash = Mix(hash, Encoding.UTF8.GetBytes(purpose));
        hash = Mix(hash, [0]);
        return Finalize(Mix(hash, Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>Maps a hash to [0, 1) using its top 53 bits.</summary>
    public static double Unit(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));

    /// <summary>
    /// FNV-1a alone spreads the last bytes poorly into the high bits, and prompts in a batch often differ only in a
    /// trailing number; the MurmurHash3 64-bit finaliser fixes that.
    /// </summary>
    private static ulong Finalize(ulong hash)
    {
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccd;
        hash ^= hash >> 33;
        hash *= 0xc4ceb9fe1a85ec53;
        hash ^= hash >> 33;
        return hash;
    }

    private static ulong Mix(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= Prime;
        }

        return hash;
    }
}
