using System.ComponentModel.DataAnnotations;
using Azure.Storage.Blobs;
using BRun.Diagnostics.Infrastructure.Blobs;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Web.Auth;

/// <summary>Where the Data Protection key ring lives (configuration section <c>DataProtection</c>).</summary>
public sealed class DataProtectionKeyOptions
{
    public const string SectionName = "DataProtection";

    /// <summary>Private container for the key ring, in the same storage account as the reports. Default: <c>brun-data-protection</c>.</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Not a valid blob container name.")]
    public string ContainerName { get; set; } = "brun-data-protection";
}

/// <summary>Registers Data Protection with its keys in blob storage and one application name for every instance.</summary>
public static class DataProtectionSetup
{
    public static IHostApplicationBuilder AddDiagnosticsDataProtection(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<DataProtectionKeyOptions>()
            .Bind(builder.Configuration.GetSection(DataProtectionKeyOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Cookies from one instance are read by another only when both use the same application name.
        builder.Services.AddDataProtection().SetApplicationName("BRun.Diagnostics");
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<IOptions<BlobStorageOptions>, IOptions<DataProtectionKeyOptions>>((keys, blobs, ring) =>
                keys.XmlRepository = new BlobXmlRepository(
                    new BlobServiceClient(blobs.Value.ConnectionString).GetBlobContainerClient(ring.Value.ContainerName)));
        return builder;
    }
}
