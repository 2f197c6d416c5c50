FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements*.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && if [ -f requirements-nodeps.txt ]; then \
         pip install --no-cache-dir --no-deps --require-hashes -r requirements-nodeps.txt; \
       fi
COPY . .
RUN SECRET_KEY=build DEBUG=false python manage.py collectstatic --noinput -v 0
RUN useradd --create-home desk && mkdir -p /app/var && chown -R desk /app/var
USER desk
EXPOSE 8000
CMD ["python", "-m", "supportdesk.serve", "supportdesk.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
