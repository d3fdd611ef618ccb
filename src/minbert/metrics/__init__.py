"""Text-generation metrics: BLEU, ROUGE and perplexity, with the numbers of the reference tools."""
