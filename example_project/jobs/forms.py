"""Forms of the jobs app."""

from __future__ import annotations

from django import forms


class CountWordsForm(forms.Form):
    """Ask for the text whose words the worker counts."""

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
