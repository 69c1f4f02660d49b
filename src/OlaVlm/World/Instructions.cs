namespace OlaVlm.World;

/// Instruction-tuning conversations (LLaVA format) from the scene graph: counting, 2D relation, depth order,
/// 3D distance, attributes and short descriptions, both open-ended and in CV-Bench's multiple-choice style.
/// Text-only conversations state a scene in words and ask about it, so batches mix samples without images.
public static class Instructions
{
    public static LlavaRecord Conversation(Scene s, string image, Rng rng)
    {
        int turns = rng.Next(2, 5);
        var conv = new List<Turn>();
        for (int t = 0; t < turns; t++)
        {
            var (q, a) = OneTurn(s, rng);
            conv.Add(new(LlavaRecord.Human, t == 0 ? LlavaRecord.ImageToken + "\n" + q : q));
            conv.Add(new(LlavaRecord.Gpt, a));
        }
        return new(s.Id, image, conv);
    }

    static (string Q, string A) OneTurn(Scene s, Rng rng)
    {
        for (int tries = 0; tries < 50; tries++)
        {
            var r = rng.Next(8);
            var turn = r switch
            {
                0 or 1 => MultipleChoice(s, rng),
                2 => OpenCount(s, rng),
                3 => OpenAttribute(s, rng),
                4 => Open(Questions.Sample(BenchTask.Relation, s, rng)),
                5 => Open(Questions.Sample(BenchTask.Depth, s, rng)),
                6 => Open(Questions.Sample(BenchTask.Distance, s, rng)),
                _ => ("Describe the image briefly.", Captions.Describe(s, rng)),
            };
            if (turn is { } ok) return ok;
        }
        return ("Describe the image briefly.", Captions.Describe(s, rng));
    }

    /// A CV-Bench-style question with shuffled choices; the answer is the letter, e.g. "(B)".
    static (string, string)? MultipleChoice(Scene s, Rng rng)
    {
        var q = Questions.Sample((BenchTask)rng.Next(4), s, rng);
        if (q == null) return null;
        var choices = q.Choices.ToList();
        rng.Shuffle(choices);
        var shuffled = q.WithChoices(choices);
        return (Questions.Prompt(q.Question, choices), $"({Questions.Letter(shuffled.Answer)})");
    }

    /// Open-ended form. The CV-Bench relation wording does not say which axis is meant, so open relation
    /// questions name the two options ("to the left or to the right of", "above or below").
    static (string, string)? Open(McQuestion? q) => q switch
    {
        null => null,
        { Task: BenchTask.Relation } => (q.Choices[0] == "left"
            ? $"Is the {q.Mentions[0]} to the left or to the right of the {q.Mentions[1]}?"
            : $"Is the {q.Mentions[0]} above or below the {q.Mentions[1]}?", Capitalise(q.AnswerText) + "."),
        _ => (q.Question, $"The {q.AnswerText}."),
    };

    static (string, string)? OpenCount(Scene s, Rng rng)
    {
        if (rng.Next(4) == 0) return ("How many objects are in the image?", $"{s.Objects.Count}.");
        var k = rng.Next(4) == 0 ? rng.Pick(Shapes.All) : rng.Pick(s.Objects).Shape;
        return (Questions.CountQuestion(k), $"{s.CountOf(k)}.");
    }

    /// Colour of the only object of a shape, shape of the only object of a colour, or size of a named object.
    static (string, string)? OpenAttribute(Scene s, Rng rng)
    {
        var o = rng.Pick(s.Objects);
        int kind = rng.Next(3);
        if (kind == 2) return ($"What size is the {o.Name}?", Capitalise(Shapes.Name(o.Size)) + ".");
        if (kind == 0 && s.CountOf(o.Shape) == 1)
            return ($"What colour is the {Shapes.Name(o.Shape)}?", Capitalise(o.Color) + ".");
        if (s.Objects.Count(x => x.Color == o.Color) == 1)
            return ($"What shape is the {o.Color} object?", $"A {Shapes.Name(o.Shape)}.");
        return null;
    }

    /// A text-only conversation: the scene is stated in words, the question is answered from that text.
    public static LlavaRecord TextOnly(Scene s, string id, Rng rng)
    {
        var objs = s.Objects;
        var counts = Shapes.All.Select(k => (k, n: s.CountOf(k))).Where(p => p.n > 0).ToList();
        string stated = string.Join(" and ", counts.Select(p => $"{p.n} {(p.n == 1 ? Shapes.Name(p.k) : Shapes.Plural(p.k))}"));
        (string q, string a) = rng.Next(3) switch
        {
            0 => ($"There {(objs.Count == 1 ? "is" : "are")} {stated} on the floor. How many objects are there?", $"{objs.Count}."),
            1 when objs.Count >= 2 && Questions.Relation(s, objs[0], objs[1], true) is { } rel =>
                ($"The {objs[0].Name} is to the {rel.AnswerText} of the {objs[1].Name}. Where is the {objs[1].Name} located with respect to the {objs[0].Name}?",
                 Capitalise(rel.AnswerText == "left" ? "right" : "left") + "."),
            2 when objs.Count >= 2 && Math.Abs(Math.Round(objs[0].Depth) - Math.Round(objs[1].Depth)) >= 1 =>
                ($"The {objs[0].Name} is {Math.Round(objs[0].Depth)} metres from the camera and the {objs[1].Name} is {Math.Round(objs[1].Depth)} metres from the camera. " +
                 $"Which object is closer to the camera, the {objs[0].Name} or the {objs[1].Name}?",
                 $"The {(objs[0].Depth < objs[1].Depth ? objs[0].Name : objs[1].Name)}."),
            _ => ($"There {(objs.Count == 1 ? "is" : "are")} {stated} on the floor. How many objects are there?", $"{objs.Count}."),
        };
        return new(id, null, [new(LlavaRecord.Human, q), new(LlavaRecord.Gpt, a)]);
    }

    static string Capitalise(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
