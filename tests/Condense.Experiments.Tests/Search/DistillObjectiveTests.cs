using Condense.Core;
using Condense.Experiments.Search;
using Condense.Search.Running;
using Condense.Search.Spaces;
using Condense.Testing;

namespace Condense.Experiments.Tests.Search;

public sealed class DistillObjectiveTests
{
    private static readonly string[] Tiny =
    [
        "data.train_images=64", "data.test_images=32", "train.batch_size=16", "student.depth=1", "student.embed_dim=32",
        "eval.probe_steps=5", "eval.pca_images=2", "train.checkpoint_every=0",
    ];

    [Fact]
    public void A_trial_trains_phase_by_phase_from_its_checkpoint_and_scores_knn_accuracy()
    {
        using var temp = new TempFolder("condense-distill-objective-");
        var objective = new DistillObjective(2, [.. Tiny, $"train.cache_dir={temp.File("cache")}"], ["resnet8", "hog"]);
        var config = SearchSpace.Parse("lr=log(1e-3,1e-2);warmup=int(0,2)").Sample(0, 0);
        var trial = new TrialContext(0, config, 5, 2, temp.File("trial"));
        var recipe = objective.RecipeFor(trial);
        Assert.Equal(4, recipe.Train.Steps);                              // the schedule spans both phases
        Assert.Equal(config["lr"].AsDouble, recipe.Train.LearningRate, 12);
        var p1 = objective.RunPhase(trial, 1, default);
        var p2 = objective.RunPhase(trial, 2, default);
        Assert.InRange(p1.Score, 0, 1);
        Assert.InRange(p2.Score, 0, 1);
        Assert.Equal(2, p2.Cost);
        Assert.Equal("distill(phase_steps=2)", objective.Name);
        Assert.Equal(objective.Name, SearchObjectives.Parse(objective.Name).Name);
    }

    [Fact]
    public void An_unknown_parameter_or_objective_is_an_input_error()
    {
        var trial = new TrialContext(0, SearchSpace.Parse("momentum=uniform(0,1)").Sample(0, 0), 1, 2, "unused");
        Assert.Contains("'momentum' is not searchable", Assert.Throws<InputException>(() => new DistillObjective(2).RecipeFor(trial)).Message,
            StringComparison.Ordinal);
        Assert.Throws<InputException>(() => SearchObjectives.Parse("gradient-boosting(trees=3)"));
    }
}
