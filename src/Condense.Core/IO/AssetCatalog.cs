// Every model and data file Condense knows: what it is, where it comes from publicly, its licence, size and sha256,
// and which of four places provides it. The few files the defaults need ship with Condense (the repository's assets/
// folder, copied beside the CLI and into the tool package); the rest come from the shared folder, a Debian package
// or a NuGet package. `condense assets` prints this table with where each file was found on this machine.
namespace Condense.Core.IO;

/// <summary>Which place provides an asset.</summary>
public enum AssetProvider
{
    /// <summary>Ships with Condense (the repository's <c>assets/</c> folder, beside the CLI, in the tool package).</summary>
    Shipped,
    /// <summary>The shared models-and-data folder (<c>../shared</c> or <c>$CONDENSE_SHARED</c>).</summary>
    Shared,
    /// <summary>A Debian package, installed by <c>scripts/setup.sh</c>.</summary>
    DebianPackage,
    /// <summary>A NuGet package the CLI references; the build copies the file beside the program.</summary>
    NuGetPackage,
}

/// <summary>One known file.</summary>
/// <param name="Name">Short unique name, as errors and <c>condense assets</c> print it.</param>
/// <param name="RelativePath">Path under the provider's folder (assets/, the shared folder, the Debian package's
/// folder or the program's folder), with '/' separators.</param>
/// <param name="Description">What the file is.</param>
/// <param name="Source">Its public origin (repository at commit and path, or package and version).</param>
/// <param name="Licence">SPDX identifier, or the licence's name.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file's bytes.</param>
/// <param name="Provider">Where Condense looks for it.</param>
/// <param name="HowToGet">The one command or download that provides it.</param>
public sealed record AssetEntry(
    string Name, string RelativePath, string Description, string Source, string Licence, long Size, string Sha256,
    AssetProvider Provider, string HowToGet);

/// <summary>The table of known assets.</summary>
public static class AssetCatalog
{
    private const string MlperfTiny = "mlcommons/tiny@1afd2c98, benchmark/training (Keras .h5 converted to safetensors, tensors bit-identical)";
    private const string WinMl = "microsoft/Windows-Machine-Learning@155b5eeb, SharedContent/models";
    private const string Esp32Llm = "karpathy/llama2.c model, copy in DaveBben/esp32-llm@934dab4d, data/";
    private const string SharedHow = "copy it into the shared folder (../shared or $CONDENSE_SHARED) at this path; ../shared/models/README.md and ../shared/data/README.md name the sources";
    private const string FashionHow = "apt-get install dataset-fashion-mnist (scripts/setup.sh does it; or set CONDENSE_FASHION_MNIST to a folder with the IDX files)";
    private const string MricronDebian = "Debian mricron-data 1.2.20211006+dfsg-4, templates/";
    private const string MricronLicence = "BSD-3-Clause (Debian mricron-data copyright)";
    private const string MricronHow = "apt-get install mricron-data (scripts/setup.sh does it; or set CONDENSE_MRICRON to a folder with the templates)";
    private const string FashionUpstream = "zalandoresearch/fashion-mnist (byte-identical to Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1)";
    private const string FashionDebian = "Debian dataset-fashion-mnist 0.0~git20200523.55506a9-1 (zalandoresearch/fashion-mnist)";
    private const string ShippedHow = "ships with Condense (the repository's assets/ folder and the tool package); reinstall or re-clone if missing";

    /// <summary>Every known asset, in a stable order.</summary>
    public static IReadOnlyList<AssetEntry> All { get; } =
    [
        // Shipped: what `condense distill` and `condense generate` need with no arguments.
        new("resnet8_cifar10", "models/mlperf_tiny/resnet8_cifar10_mlperf_tiny.safetensors",
            "MLPerf Tiny ResNet8 trained on CIFAR-10 (78,666 parameters); default distillation teacher",
            MlperfTiny, "Apache-2.0", 335312, "93370c55f6d4c5592f2b2bd9d112f061c547124679cc5fc40da8c9e6dea04b1e",
            AssetProvider.Shipped, ShippedHow),
        new("stories260K", "models/llama2c/stories260K.bin",
            "TinyStories LLaMA, dim 64, 5 layers, GQA 8/4 heads, vocab 512 (llama2.c format); default language model",
            Esp32Llm + "stories260K.bin", "MIT", 1056540, "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696",
            AssetProvider.Shipped, ShippedHow),
        new("tok512", "models/llama2c/tok512.bin",
            "the 512-piece llama2.c tokenizer of stories260K and llama2xs; default tokenizer",
            Esp32Llm + "tok512.bin", "MIT", 6227, "037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312",
            AssetProvider.Shipped, ShippedHow),
        new("fashion-mnist-test-images", "data/fashion-mnist/t10k-images-idx3-ubyte.gz",
            "Fashion-MNIST test images (10,000, IDX); the default distillation data when the full set is not installed",
            FashionUpstream, "MIT",
            4422079, "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", AssetProvider.Shipped, ShippedHow),
        new("fashion-mnist-test-labels", "data/fashion-mnist/t10k-labels-idx1-ubyte.gz",
            "Fashion-MNIST test labels (IDX)",
            FashionUpstream, "MIT",
            5125, "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", AssetProvider.Shipped, ShippedHow),

        // Debian package: the full Fashion-MNIST, used by the distillation recipes when installed.
        new("fashion-mnist-train-images", "train-images-idx3-ubyte.gz", "Fashion-MNIST training images (60,000, IDX)",
            FashionDebian, "MIT",
            26421856, "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", AssetProvider.DebianPackage, FashionHow),
        new("fashion-mnist-train-labels", "train-labels-idx1-ubyte.gz", "Fashion-MNIST training labels (IDX)",
            FashionDebian, "MIT",
            29491, "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", AssetProvider.DebianPackage, FashionHow),
        new("fashion-mnist-full-test-images", "t10k-images-idx3-ubyte.gz", "Fashion-MNIST test images (the package's copy)",
            FashionDebian, "MIT",
            4422079, "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", AssetProvider.DebianPackage, FashionHow),
        new("fashion-mnist-full-test-labels", "t10k-labels-idx1-ubyte.gz", "Fashion-MNIST test labels (the package's copy)",
            FashionDebian, "MIT",
            5125, "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", AssetProvider.DebianPackage, FashionHow),

        // Debian package mricron-data: the brain MRI and atlas of the VLM with experts (condense vlm).
        new("colin27-t1", "ch2.nii.gz", "Colin27 T1 brain MRI, 181x217x181 at 1 mm, MNI space (NIfTI-1)",
            MricronDebian, MricronLicence, 3510351, "a009051127f64dc3dd554d5f5b589870ea72106d9642c21b4e7093e478cfc309", AssetProvider.DebianPackage, MricronHow),
        new("aal-atlas", "aal.nii.gz", "AAL atlas registered to Colin27, 116 labelled regions (NIfTI-1)",
            MricronDebian, MricronLicence, 163644, "b512dcd3f36b77f56be7a9a038134096e66314b7e8c31d25875b96bcf6991454", AssetProvider.DebianPackage, MricronHow),
        new("aal-names", "aal.nii.txt", "AAL region names (label, name, code)",
            MricronDebian, MricronLicence, 2713, "1788d6556a9ec056de9867b2382cf1ce1b51b87ae4cfd9cd25de48ae4dde709e", AssetProvider.DebianPackage, MricronHow),

        // NuGet package: the ImageNet ResNet18 teacher of the default recipe.
        new("resnet18_imagenet", "DnnImageModels/ResNet18Onnx/ResNet18.onnx",
            "ImageNet-1k ResNet18 as ONNX (224 px, 512-d pooled feature); default distillation teacher",
            "NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1", "MIT", 63653533,
            "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f", AssetProvider.NuGetPackage,
            "restored with the CLI (Condense.Cli references the package; the build copies it beside condense.dll)"),

        // Shared folder: models and data for the other commands, the studies and the tests.
        new("mobilenetv1_vww", "models/mlperf_tiny/mobilenetv1_0.25_vww96_mlperf_tiny.safetensors",
            "MLPerf Tiny MobileNetV1-0.25 for Visual Wake Words (96 px)", MlperfTiny, "Apache-2.0", 953320,
            "98de72e86a415b8a3be1d3694e04d400928e5625e5f6d4dea5e687a776b8c5b2", AssetProvider.Shared, SharedHow),
        new("squeezenet1.1", "models/onnx/squeezenet1.1_imagenet_fp16.onnx", "ImageNet-1k SqueezeNet 1.1, fp16 ONNX (opset 7)",
            WinMl + "/SqueezeNet_fp16.onnx", "MIT", 2484091,
            "21f25e3d9254af93e6218a359469fac714a017b3f9035c0f5c4acbf9a3ff7233", AssetProvider.Shared, SharedHow),
        new("imagenet_labels", "models/onnx/imagenet_labels.txt", "the 1,000 ImageNet class names, in output order",
            WinMl, "MIT", 25566, "dc1fd0d4747096d3aa690bd65ec2f51fdb3e5117535bfbce46fa91088a8f93a9", AssetProvider.Shared, SharedHow),
        new("cifar10_cnn", "models/onnx/cifar10_cnn.onnx", "CIFAR-10 CNN of the PyTorch image-classification tutorial (ONNX)",
            WinMl, "MIT", 201956, "d04131695f980c7febadf5e64996500dc4c9a6b1c313a30262d1a78386fc076d", AssetProvider.Shared, SharedHow),
        new("mnist_cnn", "models/onnx/mnist_cnn.onnx", "ONNX model-zoo MNIST CNN", WinMl + "/mnist.onnx", "MIT", 26627,
            "bd5891fdd7987910bfc3d8fc9a697a88e48309e26e529faa87931fba52904fe8", AssetProvider.Shared, SharedHow),
        new("llama2xs", "models/llama2c/llama2xs_tinystories.bin",
            "an independently trained TinyStories LLaMA, dim 64, hidden 192, 5 layers, vocab 512 (uses tok512)",
            "saltyduckegg/llama2xs.c@31ec9eb7, out/model.bin", "MIT", 1125148,
            "b1e0376c2456e18f294ffe062a2b44e5cb2e207c8aa53538209d2689122ea641", AssetProvider.Shared, SharedHow),
        new("stories260K-hf-config", "models/hf/stories260K/config.json",
            "stories260K as a Hugging Face LlamaForCausalLM folder: config", "derived from stories260K (shared folder)", "MIT", 485,
            "215f6552f98559b873f4e3f14d09a021b911649ba9211836cd5257d4de9a24c9", AssetProvider.Shared, SharedHow),
        new("stories260K-hf-weights", "models/hf/stories260K/model.safetensors",
            "stories260K as a Hugging Face LlamaForCausalLM folder: weights (rotate-half q/k layout, tied)",
            "derived from stories260K (shared folder)", "MIT", 1045072,
            "0376a5d5b3cf7bd5f39d9bcbde45086d5cac9fe7026a2e79638ff9386aa36496", AssetProvider.Shared, SharedHow),
        new("tinystories-train", "data/tinystories/train_partA.txt",
            "1,158 TinyStories training stories (calibration, mask and elastic training)",
            "gusjengis/toy-RNN@e4c7ff8b, data/tinystories_sample.txt (byte-exact substring)", "CDLA-Sharing-1.0", 1069147,
            "40bf27847d09e28f4d8b5f4c417257b7173c2084047fe7bdf337ccc2dbda419c", AssetProvider.Shared, SharedHow),
        new("tinystories-valid", "data/tinystories/valid_first794KB.txt",
            "the first ~900 TinyStories validation stories (perplexity)",
            "yuninxia/moe-routing-bench@6877be50, data/tinystories_val.txt", "CDLA-Sharing-1.0", 794375,
            "5fc1fb0113df62b567fb271806cd645ce8d75f59c58ca0b764c03d3b6ff34ca6", AssetProvider.Shared, SharedHow),
        new("cifar10-first499-images", "data/images/cifar10_batch1_first499_chw_u8.bin",
            "the first 499 CIFAR-10 data_batch_1 images, raw CHW uint8", "CIFAR-10 (Krizhevsky 2009)", "no licence stated",
            1532928, "6c45a9915561b1a330a00ff76169740c7a596f63a95fda79eb801f413f98a101", AssetProvider.Shared, SharedHow),
        new("cifar10-first499-labels", "data/images/cifar10_batch1_first499_labels_i64.bin",
            "their labels, int64", "CIFAR-10 (Krizhevsky 2009)", "no licence stated", 3992,
            "0e4bf3343bcef326d42bb3e63b811b1ec5910f80202b7720eba006451f2a74a0", AssetProvider.Shared, SharedHow),
        new("mnist-test-images", "data/images/mnist_t10k-images-idx3-ubyte.gz", "the MNIST test images (10,000, IDX)",
            "MNIST (LeCun, Cortes, Burges)", "CC-BY-SA-3.0", 1648877,
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", AssetProvider.Shared, SharedHow),
        new("mnist-test-labels", "data/images/mnist_t10k-labels-idx1-ubyte", "the MNIST test labels (IDX)",
            "MNIST (LeCun, Cortes, Burges)", "CC-BY-SA-3.0", 10008,
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", AssetProvider.Shared, SharedHow),
        new("kitten", "data/images/kitten.png", "a photo (image-loading tests)", WinMl, "MIT", 82097,
            "9308d18675067949aa685e6f02a3350e5007d6e94588d14143054bea950f5edd", AssetProvider.Shared, SharedHow),
        new("fish", "data/images/fish.png", "a photo (image-loading tests)", WinMl, "MIT", 134422,
            "5dc87a520293463e60023ae4070e475c2712c8aba77ecf43432d3d946c6d1bcc", AssetProvider.Shared, SharedHow),
    ];

    /// <summary>The entry whose <see cref="AssetEntry.RelativePath"/> is <paramref name="relativePath"/> (the shipped or
    /// shared one when a Debian file has the same name), or null.</summary>
    public static AssetEntry? Find(string relativePath)
    {
        var normalized = relativePath.Replace('\\', '/').TrimEnd('/');
        return All.FirstOrDefault(a => a.Provider is AssetProvider.Shipped or AssetProvider.Shared && a.RelativePath == normalized)
            ?? All.FirstOrDefault(a => a.RelativePath == normalized)
            // A folder (an HF model directory) names the asset of its first file.
            ?? All.FirstOrDefault(a => a.RelativePath.StartsWith(normalized + "/", StringComparison.Ordinal));
    }
}
