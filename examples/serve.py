"""A prediction endpoint; each request runs the model once."""

from fastapi import FastAPI
from transformers import AutoModelForSequenceClassification, AutoTokenizer

app = FastAPI()
tokenizer = AutoTokenizer.from_pretrained("distilbert-base-uncased-finetuned-sst-2-english")
classifier = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased-finetuned-sst-2-english")


@app.post("/sentiment")
def sentiment(text: str):
    inputs = tokenizer(text, return_tensors="pt")
    scores = classifier(**inputs).logits.softmax(-1)
    return {"positive": scores[0, 1].item()}
